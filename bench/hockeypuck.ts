// The `hockeypuck` recon profile's normalisation (signature verification included) over generated public-profile
// keys (the shape of the public keydump: RSA/DSA, certifications, photo IDs), as CPU time per key by primary key
// algorithm, beside the `sks` profile's work on the same keys (what the loader does today). One thread; the loader
// runs it in each of its worker threads.
//   BENCH_HP_KEYS=20000        keys (the first keys of the seed "bench" public-profile dump, generated once and cached)
// Run alone: BENCH_ONLY=hockeypuck node --conditions=source --import tsx bench/run.ts
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  defaultSettings, hockeypuckProfile, policyFromSettings, readPackets, sksProfile, splitKeys, verify, type Packet, type ReconProfile,
} from '../packages/keystore/src/index.js';
import { cachedDump } from '../packages/sks-admin/src/gen.js';
import type { Row } from './row.js';

/** The generator's primary key classes (gen-public.ts), told apart by algorithm and size. */
function classOf(primary: Packet): string {
  const read = verify.readPublicKey(primary.body);
  if (!read.ok) return 'unreadable';
  const m = read.key.material;
  const bits = (b: Buffer) => b.length * 8;
  switch (m.kind) {
    case 'rsa': return `RSA-${bits(m.n)}`;
    case 'dsa': return `DSA-${bits(m.p)}`;
    case 'ecdsa': return `ECDSA ${m.curve.name}`;
    case 'eddsa-legacy': return 'EdDSA (Ed25519)';
    default: return `algorithm ${read.key.algorithm}`;
  }
}

/** CPU microseconds of `profile.normalise` per key, by class, best of `rounds` passes (the first warms up). */
function cost(profile: ReconProfile, keys: Packet[][], classes: string[], rounds: number): Map<string, { keys: number; us: number }> {
  let best = new Map<string, { keys: number; us: number }>();
  let bestTotal = Infinity;
  for (let r = 0; r < rounds; r++) {
    const by = new Map<string, { keys: number; us: number }>();
    let total = 0;
    keys.forEach((k, i) => {
      const c0 = process.cpuUsage();
      profile.normalise(k);
      const c = process.cpuUsage(c0);
      const us = c.user + c.system;
      total += us;
      const e = by.get(classes[i]!) ?? { keys: 0, us: 0 };
      e.keys++;
      e.us += us;
      by.set(classes[i]!, e);
    });
    if (total < bestTotal) {
      bestTotal = total;
      best = by;
    }
  }
  return best;
}

export async function runHockeypuckBench(): Promise<Row[]> {
  const n = Number(process.env.BENCH_HP_KEYS ?? 20_000);
  const { dir, manifest } = await cachedDump({ keys: n, seed: 'bench', profile: 'public', dups: 0, flooded: 0, floodCerts: 0, keysPerFile: 15000 });
  const keys = manifest.files.flatMap((f) => splitKeys(readPackets(readFileSync(join(dir, f)))));
  const classes = keys.map((k) => classOf(k[0]!));
  const hp = cost(hockeypuckProfile(), keys, classes, 2);
  const sks = cost(sksProfile(policyFromSettings(defaultSettings())), keys, classes, 2);
  const sum = (m: Map<string, { keys: number; us: number }>) => [...m.values()].reduce((a, e) => a + e.us, 0);
  // SKS has no such step (it verifies nothing): the SKS column is left empty, the sks profile has its own row
  const rows: Row[] = [
    { metric: `hockeypuck profile, all ${keys.length} keys`, unit: 'µs CPU/key', ours: sum(hp) / keys.length, sks: '', target: 'well under 250' },
  ];
  for (const [c, e] of [...hp].sort((a, b) => b[1].keys - a[1].keys)) {
    rows.push({ metric: `  ${c}, ${((100 * e.keys) / keys.length).toFixed(1)}% of keys`, unit: 'µs CPU/key', ours: e.us / e.keys, sks: '' });
  }
  rows.push({ metric: 'sks profile (what the loader does today), all keys', unit: 'µs CPU/key', ours: sum(sks) / keys.length, sks: '' });
  return rows;
}
