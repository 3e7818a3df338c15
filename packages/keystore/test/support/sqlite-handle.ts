// White-box access to the SQLite backend's connection, for the backend's own tests only (schema, indexes, pragmas,
// and faults injected on the very connection under test). Processes never get the handle: they use the store's
// interfaces (packages/keystore/src/store/contract.ts).
import type Database from 'better-sqlite3';

export function sqliteHandle(store: object): Database.Database {
  const db = (store as { db?: unknown }).db;
  if (!db || typeof (db as Database.Database).prepare !== 'function') throw new TypeError('not a SQLite key store');
  return db as Database.Database;
}
