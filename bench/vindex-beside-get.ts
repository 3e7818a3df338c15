// Issue 17's vindex target, as clients see it: vindex of keys with about 100 signatures beside op=get of the same
// keys, caches off (each answer computed afresh), rounds alternating, SKS beside on the same keys. Shared by the
// lookup part (debian-keyring) and the lookup-random part (the 1M-key store).
import { signatureCount, type StoredKey } from '../packages/keystore/src/index.js';
import type { Row } from './row.js';
import { luaScript, medianRun, residentFiles, runWrk, type WrkResult } from './wrk.js';

/** Fingerprints of the keys with about 100 signatures (90-110, on the key, its user IDs and subkeys): issue 17's
 * vindex target is about such keys. */
export function hundredSignatureKeys(keys: Iterable<StoredKey>): string[] {
  return [...keys].filter((k) => k.version !== 6 && Math.abs(signatureCount(k.info) - 100) <= 10).map((k) => k.fingerprint);
}

export interface VindexBesideGet {
  /** Where the lua scripts go. */
  dir: string;
  /** Primary fingerprints of the keys (90-110 signatures each). */
  keys: string[];
  /** sks-db with lookup_cache_bytes 0, and SKS. */
  oursUrl: string;
  sksUrl: string;
  concurrency: number;
  rounds: number;
  seconds: number;
  /** What the keys are, in the rows' names ("100-signature keys", ...). */
  what: string;
  log(line: string): void;
  /** Each server's store, read into the page cache before each of its runs (residentFiles); none: not read. */
  stores?: { ours: string[]; sks: string[] };
}

export async function vindexBesideGet(o: VindexBesideGet): Promise<Row[]> {
  const c = o.concurrency;
  const tag = o.what.replace(/[^a-z0-9]+/gi, '-');
  const vindex = luaScript(o.dir, `vindex-${tag}`, o.keys.map((f) => `/pks/lookup?op=vindex&search=0x${f}`));
  const get = luaScript(o.dir, `get-${tag}`, o.keys.map((f) => `/pks/lookup?op=get&options=mr&search=0x${f}`));
  const runs = { ours: { vindex: [] as WrkResult[], get: [] as WrkResult[] }, sks: { vindex: [] as WrkResult[], get: [] as WrkResult[] } };
  for (const [server, url] of [['ours', o.oursUrl], ['sks', o.sksUrl]] as const) {
    await runWrk(url, vindex, 8, 2);
    await runWrk(url, get, 8, 2);
    for (let r = 0; r < o.rounds; r++) {
      if (o.stores) residentFiles(o.stores[server]);
      runs[server].vindex.push(await runWrk(url, vindex, c, o.seconds));
      if (o.stores) residentFiles(o.stores[server]);
      runs[server].get.push(await runWrk(url, get, c, o.seconds));
    }
  }
  const [ov, og, sv, sg] = [runs.ours.vindex, runs.ours.get, runs.sks.vindex, runs.sks.get].map(medianRun) as [WrkResult, WrkResult, WrkResult, WrkResult];
  o.log(`${o.keys.length} ${o.what}, c=${c}: ours (caches off) vindex ${runs.ours.vindex.map((x) => x.rps.toFixed(0)).join(' / ')} req/s, ` +
    `get ${runs.ours.get.map((x) => x.rps.toFixed(0)).join(' / ')} req/s; SKS vindex ${runs.sks.vindex.map((x) => x.rps.toFixed(0)).join(' / ')} req/s, ` +
    `get ${runs.sks.get.map((x) => x.rps.toFixed(0)).join(' / ')} req/s`);
  return [
    { metric: `vindex of ${o.what} c=${c}, caches off`, ours: ov.rps, sks: sv.rps, ratio: ov.rps / sv.rps, unit: 'req/s' },
    { metric: `get of the same keys c=${c}, caches off`, ours: og.rps, sks: sg.rps, ratio: og.rps / sg.rps, unit: 'req/s' },
    // time per vindex over time per get (req/s of get over req/s of vindex), each server's own
    { metric: `vindex / get, time per request, c=${c}, caches off`, ours: og.rps / ov.rps, sks: sg.rps / sv.rps, unit: 'x', target: 'ours <= 2' },
  ];
}
