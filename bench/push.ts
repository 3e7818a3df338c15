// Push-sync throughput (issue 14): BENCH_PUSH_KEYS keys of debian-keyring (default 600, ~30 KB each on average)
// added to a store of ours, then pushed by the push job's own code (sks-cron sync/push.ts, default settings: 20 keys
// a request) over HKP on loopback to a server of ours (sks-db in its own process) and to real SKS 1.1.6, in turn.
// SKS pushes only by mail, so there is no SKS figure to set beside ours: the rows say how fast each target takes
// what we push, which is what bounds a push-sync run.
// Run alone: BENCH_ONLY=push node --conditions=source --import tsx bench/run.ts
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KeyStore, createLogger, defaultSettings, readPackets, type Settings, type SyncTarget } from '../packages/keystore/src/index.js';
import { pushToTarget } from '../packages/sks-cron/src/sync/push.js';
import { DEBIAN_KEYRING, keyBlocks, writeKeySubset } from '../test/support/keyrings.js';
import { startSks } from '../test/support/sks.js';
import { makeTempDir } from '../test/support/tmp.js';
import { freePort } from '../test/support/ports.js';
import { makeBasedir, startService } from '../test/support/services.js';
import type { Row } from './row.js';

async function pushAll(url: string, port: number, keys: Buffer[], settings: Settings): Promise<{ keysPerS: number; requests: number; mb: number }> {
  const store = KeyStore.open(join(makeTempDir('bench-push-'), 'keys.sqlite'));
  try {
    const target: SyncTarget = { url, kind: 'hkp', host: '127.0.0.1', port, priority: 100, from: 'sync-targets' };
    store.pushTarget(url); // starts after the newest change: only the keys below are pushed
    store.upsert(keys.map((k) => readPackets(k)), 'add');
    const log = createLogger({ service: 'bench', console: false });
    const t0 = performance.now();
    const run = await pushToTarget(target, store, { settings, sender: 'bench.sks-ts.test' }, log);
    const s = (performance.now() - t0) / 1000;
    if (run.error || run.sent !== keys.length) throw new Error(`push to ${url}: sent ${run.sent} of ${keys.length}: ${run.error ?? ''}`);
    return { keysPerS: run.sent / s, requests: run.requests, mb: keys.reduce((n, k) => n + k.length, 0) / 2 ** 20 };
  } finally {
    store.close();
  }
}

export async function runPushBench(): Promise<Row[]> {
  const n = Number(process.env.BENCH_PUSH_KEYS ?? 600);
  const all = keyBlocks(readFileSync(DEBIAN_KEYRING));
  const keys = all.slice(0, Math.min(n, all.length - 1));
  const settings = { ...defaultSettings(), sync_run_max_keys: 1_000_000 };
  const rows: Row[] = [];

  const port = await freePort();
  const base = makeBasedir({ hkp_port: port, hkp_address: ['127.0.0.1'], log_level: 'warn' }, 'bench-push-target-');
  const ours = await startService('sks-db', base);
  try {
    const r = await pushAll(`hkp://127.0.0.1:${port}`, port, keys, settings);
    rows.push({ metric: `push ${keys.length} keys (${r.mb.toFixed(0)} MB) over HKP to a server of ours, ${r.requests} requests`, ours: r.keysPerS, sks: 'n/a (mail only)', unit: 'keys/s' });
  } finally {
    await ours.stop();
  }

  // SKS builds from a keydump: one key it holds from the start, not one of those pushed
  const seed = writeKeySubset(DEBIAN_KEYRING, [all.length - 1], join(makeTempDir('bench-push-sks-'), 'seed.gpg'));
  const sks = await startSks({ keyFiles: [seed] });
  try {
    const r = await pushAll(`hkp://127.0.0.1:${sks.hkpPort}`, sks.hkpPort, keys, settings);
    rows.push({ metric: `push the same keys over HKP to real SKS 1.1.6, ${r.requests} requests`, ours: r.keysPerS, sks: 'n/a (mail only)', unit: 'keys/s' });
  } finally {
    await sks.stop();
  }
  return rows;
}
