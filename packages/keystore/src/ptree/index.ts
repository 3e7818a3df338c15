// The recon prefix tree: its shape (pure) and the field arithmetic; its SQLite tables are store/sqlite/prefix-tree.ts.
export * from './shape.js';
export { ZZP_BYTES } from './zzp.js';
/** Field arithmetic of the recon protocol, for sks-recon. */
export * as zzp from './zzp.js';
