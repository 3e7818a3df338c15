// The key store's front door: its data types, its role interfaces (the seam every process codes against) and the
// backend used by default, SQLite. Layout: types.ts, contract.ts, upsert.ts (backend-independent decisions),
// prepare.ts / packed.ts (pure key preparation for loader threads), dump.ts, change-tally.ts, sqlite/ (the backend).
export * from './types.js';
export * from './contract.js';
export { SqliteKeyStore as KeyStore } from './sqlite/sqlite-store.js';
export { prepareKey, storedForm, emailsOf } from './prepare.js';
export { escapeMr, sksKeyExpiry, mrLines, primaryUserId, keySummary, type KeySummary } from './summary.js';
export { packPreparedBlocks, PackedBlockReader, PackedWriter } from './packed.js';
export { ChangeTally, DAYS_SHOWN, type Bucket, type StatsSnapshot } from './change-tally.js';
export { writeKeyDump, dumpFileName, type DumpResult } from './dump.js';
