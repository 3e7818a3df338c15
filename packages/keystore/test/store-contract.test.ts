// The storage seam's conformance suite (test/support/store-conformance.ts) run against the SQLite backend, each
// store a real file in WAL mode. "Unavailable" is another connection holding the write lock past the busy timeout.
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { KeyStore } from '../src/index.js';
import { makeTempDir } from '../../../test/support/tmp.js';
import { storeConformance } from './support/store-conformance.js';

const files = new WeakMap<object, string>();

storeConformance('SQLite', {
  open() {
    const file = join(makeTempDir('store-contract-'), 'keys.sqlite');
    const store = KeyStore.open(file, { busyTimeoutMs: 50 });
    files.set(store, file);
    return store;
  },
  makeUnavailable(store) {
    const other = new Database(files.get(store)!);
    other.exec('BEGIN IMMEDIATE');
    return () => {
      other.exec('ROLLBACK');
      other.close();
    };
  },
});
