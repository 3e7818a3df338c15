// node's options for sks-db's worker processes: the young generation's size (db_worker_semi_space_mib) and the
// memory reducer's switch (db_worker_memory_reducer) are added to what the primary runs with, unless node was given
// its own already.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultSettings } from '@sks/keystore';
import { workerExecArgv } from '../src/server.js';

test('workers get the semi-space setting beside the primary\'s own options', () => {
  const primary = ['--conditions=source', '--import', 'tsx'];
  assert.deepEqual(workerExecArgv(primary, 4, true), [...primary, '--max-semi-space-size=4']);
  assert.deepEqual(primary, ['--conditions=source', '--import', 'tsx'], 'the primary\'s list is left as it was');
  assert.equal(defaultSettings().db_worker_semi_space_mib, 4);
});

test('0 keeps node\'s own size, and a size given to node wins', () => {
  assert.deepEqual(workerExecArgv(['--enable-source-maps'], 0, true), ['--enable-source-maps']);
  assert.deepEqual(workerExecArgv(['--max-semi-space-size=32'], 4, true), ['--max-semi-space-size=32']);
  assert.deepEqual(workerExecArgv(['--max_semi_space_size', '8'], 4, true), ['--max_semi_space_size', '8']);
});

test('the memory reducer is off by default, on when asked, and node\'s own switch wins', () => {
  assert.equal(defaultSettings().db_worker_memory_reducer, false);
  assert.deepEqual(workerExecArgv([], 4, false), ['--max-semi-space-size=4', '--no-memory-reducer']);
  assert.deepEqual(workerExecArgv([], 0, true), []);
  assert.deepEqual(workerExecArgv(['--memory-reducer'], 0, false), ['--memory-reducer']);
  assert.deepEqual(workerExecArgv(['--no_memory_reducer'], 0, false), ['--no_memory_reducer']);
});
