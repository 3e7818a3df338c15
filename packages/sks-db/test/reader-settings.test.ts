// sks-db's read-only connection takes its page cache, memory map and fingerprint table from the settings
// (db_reader_cache_mib, db_reader_mmap_mib, db_reader_fingerprint_table_mib): on a large store they decide how many
// pages each random lookup copies out of the kernel, and how many B-trees an op=get by fingerprint reads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { KeyStore, defaultSettings } from '@sks/keystore';
import { openContext } from '../src/server.js';
import { sqliteHandle } from '../../keystore/test/support/sqlite-handle.js';
import { makeTempDir } from '../../../test/support/tmp.js';

function pragmas(settings: Parameters<typeof openContext>[0]['settings']): { cache: number; mmap: number } {
  const basedir = makeTempDir('reader-settings-');
  KeyStore.open(join(basedir, 'keys.sqlite')).close();
  const { ctx, close } = openContext({ basedir, settings: { log_level: 'warn', ...settings } });
  try {
    const db = sqliteHandle(ctx.store);
    return { cache: db.pragma('cache_size', { simple: true }) as number, mmap: db.pragma('mmap_size', { simple: true }) as number };
  } finally {
    close();
  }
}

test('the reader\'s page cache and map are the settings\' sizes, and the defaults are 64 MiB and 1 TiB', () => {
  assert.deepEqual(pragmas({ db_reader_cache_mib: 5, db_reader_mmap_mib: 3 }), { cache: -5 * 1024, mmap: 3 * 1048576 });
  assert.deepEqual(pragmas({ db_reader_mmap_mib: 0 }).mmap, 0, '0 turns the map off');
  assert.equal(defaultSettings().db_reader_cache_mib, 64);
  assert.equal(defaultSettings().db_reader_mmap_mib, 1048576);
  // SQLite as better-sqlite3 ships it caps the map at 2047 MiB; our patch (patches/) lifts the cap to 1 TiB, so a
  // store over 2 GiB is mapped whole
  assert.deepEqual(pragmas({}), { cache: -64 * 1024, mmap: 1048576 * 1048576 });
  assert.equal(pragmas({ db_reader_mmap_mib: 8192 }).mmap, 8192 * 1048576);
});

test('the reader keeps a fingerprint table unless db_reader_fingerprint_table_mib is 0; the default is 128 MiB', () => {
  const basedir = makeTempDir('reader-settings-');
  KeyStore.open(join(basedir, 'keys.sqlite')).close();
  const status = (settings: Parameters<typeof openContext>[0]['settings']) => {
    const { ctx, close } = openContext({ basedir, settings: { log_level: 'warn', ...settings } });
    try {
      return ctx.store.fingerprintTableStatus();
    } finally {
      close();
    }
  };
  assert.equal(defaultSettings().db_reader_fingerprint_table_mib, 128);
  assert.equal(status({})?.keys, 0, 'a table, of an empty store');
  assert.equal(status({ db_reader_fingerprint_table_mib: 0 }), undefined, '0 turns it off');
});
