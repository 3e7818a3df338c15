// node's options for sks-db's worker processes: the young generation's size (db_worker_semi_space_mib) is added to
// what the primary runs with, unless the setting is 0 or node was given a size already.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultSettings } from '@sks/keystore';
import { workerExecArgv } from '../src/server.js';

test('workers get the semi-space setting beside the primary\'s own options', () => {
  const primary = ['--conditions=source', '--import', 'tsx'];
  assert.deepEqual(workerExecArgv(primary, 4), [...primary, '--max-semi-space-size=4']);
  assert.deepEqual(primary, ['--conditions=source', '--import', 'tsx'], 'the primary\'s list is left as it was');
  assert.equal(defaultSettings().db_worker_semi_space_mib, 4);
});

test('0 keeps node\'s own size, and a size given to node wins', () => {
  assert.deepEqual(workerExecArgv(['--enable-source-maps'], 0), ['--enable-source-maps']);
  assert.deepEqual(workerExecArgv(['--max-semi-space-size=32'], 4), ['--max-semi-space-size=32']);
  assert.deepEqual(workerExecArgv(['--max_semi_space_size', '8'], 4), ['--max_semi_space_size', '8']);
});
