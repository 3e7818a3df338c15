// Public surface of sks-recon, for tests, benchmarks and the suite runner.
export { startRecon, type ReconOptions, type RunningRecon } from './start.js';
export { ReconServer, type ReconServerOptions, type SessionSummary } from './server.js';
export { walk, answer, exchangeConfig, readPeerConfig, sameFilters, checkPeerConfig, configPairs, type SessionConfig, type SessionResult } from './session.js';
export { Channel, SessionError } from './channel.js';
export * from './messages.js';
export { reconcile, interpolate, roots, ratio } from './decode.js';
export { hashquery, USER_AGENT } from './fetch.js';
