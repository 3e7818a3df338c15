// Public surface of sks-db: start the HKP service in-process (tests, sks-admin) or as a cluster (main.ts).
export { startDb, createApp, createHandler, openContext, type DbOptions, type RunningDb } from './server.js';
export { mrIndex, escapeMr } from './index-format.js';
export { wkdHash, zbase32, keyForDomain } from './wkd.js';
export { exportWkd } from './wkd-export.js';
export { installWeb, builtinWebDir } from './web-pages.js';
export { computeStats, statsJson } from './stats.js';
