// Recon profiles: what a server announces to its recon peers and how it normalises keys for that peer's digest.
export * from './profile.js';
export * from './sks.js';
export * from './hockeypuck/index.js';
export { HOCKEYPUCK_READER_LIMITS, type ReaderLimits } from './hockeypuck/read.js';
export * from './registry.js';
