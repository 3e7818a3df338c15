// Where an uncached lookup spends its time (issue 17): each stage of op=get, op=index (mr and HTML) and op=vindex
// timed alone, in process, on debian-keyring keys drawn at random, then the whole request through sks-db's lookup
// front handler (frontAnswer) with every cache off (lookup_cache_bytes 0). µs per request, one core, no HTTP. Then
// what comes after the answer: op=get over HTTP on loopback, one request at a time, kept-alive and on a connection
// each, against sks-db in this process and as a cluster of one worker (whose primary hands each new connection on).
// SKS has no such stages: this part has no SKS column, its point is where our time goes.
// Run alone: node --conditions=source --import tsx bench/lookup-stages.ts   (BENCH_STAGES_SAMPLES=2000 keys)
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { armorBytes, armorFrame, crc24, describeKey, keyListing, KeyStore, listingSigners, readPackets, uidEmail, type StoredKey } from '../packages/keystore/src/index.js';
import { frontAnswer, openContext } from '../packages/sks-db/src/server.js';
import { startDb } from '../packages/sks-db/src/index.js';
import { LISTING_END, htmlIndexText, htmlVindexText, listingHead, mrKeyLines } from '../packages/sks-db/src/index-format.js';
import { DEBIAN_KEYRING } from '../test/support/keyrings.js';
import { freePort } from '../test/support/ports.js';
import { makeTempDir } from '../test/support/tmp.js';
import { seededRandom } from './lookup-random.js';
import type { Row } from './row.js';
import { hundredSignatureKeys } from './vindex-beside-get.js';

export interface StagesBenchOptions {
  /** Requests timed per stage (keys drawn at random, with repeats). */
  samples?: number;
}

/** µs per call of `fn` over `inputs`, after one unmeasured pass over a few of them (JIT warm-up). */
function timeEach<T>(inputs: T[], fn: (x: T) => unknown): number {
  for (const x of inputs.slice(0, 200)) fn(x);
  const t0 = process.hrtime.bigint();
  for (const x of inputs) fn(x);
  return Number(process.hrtime.bigint() - t0) / 1000 / inputs.length;
}

/** One HTTP client on loopback, one request at a time: µs per op=get over the same `paths`, each on the kept-alive
 * connection or on a connection of its own (Connection: close). The answer is read to its last byte. */
async function overHttp(port: number, paths: string[], newConnection: boolean): Promise<number> {
  let sock: net.Socket | undefined;
  const once = (path: string) => new Promise<void>((resolve, reject) => {
    const s = newConnection || !sock ? net.connect(port, '127.0.0.1') : sock;
    if (!newConnection) sock = s;
    let got = Buffer.alloc(0);
    const onData = (d: Buffer) => {
      got = Buffer.concat([got, d]);
      const end = got.indexOf('\r\n\r\n');
      if (end < 0) return;
      const length = Number(/content-length: (\d+)/i.exec(got.subarray(0, end).toString('latin1'))?.[1] ?? NaN);
      if (got.length < end + 4 + length) return;
      s.off('data', onData);
      s.off('error', reject);
      if (newConnection) s.destroy();
      resolve();
    };
    s.on('data', onData);
    s.once('error', reject);
    s.write(`GET ${path} HTTP/1.1\r\nHost: bench\r\n${newConnection ? 'Connection: close\r\n' : ''}\r\n`);
  });
  for (const p of paths.slice(0, 100)) await once(p);
  const t0 = process.hrtime.bigint();
  for (const p of paths) await once(p);
  const us = Number(process.hrtime.bigint() - t0) / 1000 / paths.length;
  sock?.destroy();
  return us;
}

/** The stages after the answer (issue 17): HTTP and the socket, and the hand-off of each new connection from the
 * cluster's primary to a worker. Derived from op=get over loopback, caches off, one request at a time, against
 * sks-db in this process and as a cluster of one worker; the client's own work is in every figure alike. */
async function socketStages(basedir: string, fprs: string[]): Promise<{ inProcess: number; newConn: number; handOff: number }> {
  const settings = { log_level: 'warn', lookup_cache_bytes: 0, hkp_address: ['127.0.0.1'] };
  const paths = fprs.map((f) => `/pks/lookup?op=get&options=mr&search=0x${f}`);
  const here = await startDb({ basedir, workers: 0, settings: { ...settings, hkp_port: await freePort() } });
  const cluster = await startDb({ basedir, workers: 1, settings: { ...settings, hkp_port: await freePort() } });
  try {
    const [a, b] = [await overHttp(here.port, paths, false), await overHttp(here.port, paths, true)];
    const [c, d] = [await overHttp(cluster.port, paths, false), await overHttp(cluster.port, paths, true)];
    return { inProcess: a, newConn: b - a, handOff: (d - c) - (b - a) };
  } finally {
    await here.stop();
    await cluster.stop();
  }
}


/** A fresh copy of the key as the store gives it, with no description parsed yet (toStored parses lazily). */
function reread(store: KeyStore, k: StoredKey): StoredKey {
  return store.getByFingerprint(k.fingerprint)!;
}

export async function runLookupStagesBench(opts: StagesBenchOptions = {}): Promise<Row[]> {
  const samples = opts.samples ?? Number(process.env.BENCH_STAGES_SAMPLES ?? 2000);
  const basedir = makeTempDir('bench-stages-');
  const writer = KeyStore.open(join(basedir, 'keys.sqlite'));
  writer.upsertMaterial(readFileSync(DEBIAN_KEYRING), 'load');
  writer.close();
  const { ctx, close } = openContext({ basedir, settings: { log_level: 'warn', lookup_cache_bytes: 0, max_index_results: 5000, max_get_results: 5000 } });
  try {
    const store = ctx.store;
    const all = [...store.digests()].map((d) => store.getByDigest(d.toString('hex'))!).filter((k) => k && k.version !== 6);
    // keys drawn at random (fixed seed: the same draw every run), and one e-mail address of each that has one
    const rand = seededRandom(17);
    const keys = Array.from({ length: samples }, () => all[Math.floor(rand() * all.length)]!);
    const emails = keys.map((k) => k.info.userIds.map((u) => (u.kind === 'uid' ? uidEmail(u.text) : undefined)).find((e) => e))
      .filter((e): e is string => !!e);
    const fprs = keys.map((k) => k.fingerprint);
    const described = fprs.map((f) => store.getByFingerprint(f)!);
    for (const k of described) void k.info;
    const packets = keys.map((k) => readPackets(k.data));
    const opts2 = { fingerprint: false, hash: false };
    const frame = armorFrame('PUBLIC KEY BLOCK', { Comment: 'Hostname: bench' });
    // a key's vindex listing as lookup.ts takes it: stored (keys of many signatures), else made from the key
    const listingOf = (k: StoredKey) => {
      const stored = store.listingByFingerprint(k.fingerprint);
      return stored ? { ...stored, fingerprint: k.fingerprint } : { digest: k.digest, fingerprint: k.fingerprint, page: null, ...keyListing(k.info) };
    };
    const listings = described.map(listingOf);
    // signer names as lookup.ts finds them: one statement per page
    const signerNames = (l: { signers: string }) => store.signerNames([...listingSigners(l.signers, new Set())]);
    const names = listings.map(signerNames);
    const pages = listings.map((_, i) => i);
    const answer = frontAnswer(ctx);
    const request = (qs: string) => {
      const r = answer(qs, 'GET');
      if (r.status !== 200) throw new Error(`${qs}: status ${r.status}`);
      return r;
    };
    const bytes = keys.reduce((n, k) => n + k.data.length, 0) / keys.length;

    const stages: Array<{ stage: string; get?: number; mr?: number; html?: number; vindex?: number }> = [
      {
        stage: 'SQLite read (by fingerprint / by e-mail)',
        get: timeEach(fprs, (f) => store.getByFingerprint(f)),
        // an mr index reads the keys' stored summaries only (key_summaries), not the keys
        mr: timeEach(emails, (e) => store.indexEntriesByText(e, 5000, 5001)),
        // the stored listing (a key of few signatures has none: read and described, as the request does)
        vindex: timeEach(described, listingOf),
      },
      { stage: 'packet parsing (readPackets)', get: timeEach(keys, (k) => readPackets(k.data)) },
      { stage: 'key description (describeKey)', get: timeEach(packets, (p) => describeKey(p)) },
      { stage: 'CRC-24 of the key (stored with it)', get: timeEach(keys, (k) => crc24(k.data)) },
      // as a request armors: with the checksum the store keeps, and the armor's lines made once for the server
      { stage: 'armoring (armorBytes)', get: timeEach(keys, (k) => armorBytes(k.data, frame, k.crc)) },
      {
        stage: 'string building (mr, html: from the description; vindex: the listing filled in)',
        mr: timeEach(described, (k) => mrKeyLines(k).join('\n')),
        html: timeEach(described, (k) => listingHead(false) + htmlIndexText(k, opts2) + LISTING_END),
        // the listing filled in: its stored page, else its template with its signers' names (read before, below)
        vindex: timeEach(pages, (i) => [listingHead(true), htmlVindexText(listings[i]!, opts2, listings[i]!.page ? 'page' : names[i]!), LISTING_END]),
      },
      // vindex: the names of a page's signers, one statement for all of them: a request looks them up only for a listing
      // without a stored page (a key of few signatures); timed for every listing, to show what stored pages save
      { stage: 'signer names (vindex)', vindex: timeEach(listings, signerNames) },
      {
        stage: 'whole request (frontAnswer, caches off)',
        get: timeEach(fprs, (f) => request(`op=get&options=mr&search=0x${f}`)),
        mr: timeEach(emails, (e) => request(`op=index&options=mr&search=${encodeURIComponent(e)}`)),
        html: timeEach(fprs, (f) => request(`op=index&search=0x${f}`)),
        vindex: timeEach(fprs, (f) => request(`op=vindex&search=0x${f}`)),
      },
    ];
    // key description as a fresh read pays it: read + lazy describeKey, what every uncached index did per key
    stages.splice(3, 0, { stage: 'read + description (first .info)', get: timeEach(keys, (k) => reread(store, k).info) });

    const cell = (v?: number) => (v === undefined ? '' : v.toFixed(1));
    const head = ['stage (µs per request)', 'get mr', 'index mr', 'index html', 'vindex'];
    const body = stages.map((s) => [s.stage, cell(s.get), cell(s.mr), cell(s.html), cell(s.vindex)]);
    const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
    const line = (c: string[]) => c.map((x, i) => (i === 0 ? x.padEnd(widths[i]!) : x.padStart(widths[i]!))).join('  ');
    console.log(`\n${samples} random keys of debian-keyring (${all.length} keys, ${(bytes / 1024).toFixed(1)} KiB average), ${emails.length} e-mail lookups`);
    console.log(line(head));
    console.log(widths.map((w) => '-'.repeat(w)).join('  '));
    for (const b of body) console.log(line(b));

    // Issue 17's vindex target: the keys with about 100 signatures (90-110), vindex beside op=get, caches off.
    const hundred = hundredSignatureKeys(all);
    const rows: Row[] = [];
    const http = await socketStages(basedir, fprs);
    const whole = stages.at(-1)!.get!;
    console.log(`\nop=get over HTTP on loopback, one request at a time, caches off: ${http.inProcess.toFixed(1)} µs a request on a ` +
      `kept-alive connection (answer ${whole.toFixed(1)} µs, HTTP, socket and the client ${(http.inProcess - whole).toFixed(1)} µs); ` +
      `a new connection per request ${http.newConn.toFixed(1)} µs more; the cluster's hand-off of a new connection ` +
      `${http.handOff.toFixed(1)} µs more (per connection, not per request)`);
    rows.push({ metric: 'op=get over HTTP, kept-alive connection, one at a time, caches off', ours: http.inProcess, sks: '', unit: 'µs' });
    rows.push({ metric: '  of which HTTP, socket and the client (beyond the whole answer)', ours: http.inProcess - whole, sks: '', unit: 'µs' });
    rows.push({ metric: 'a new connection per request, on top', ours: http.newConn, sks: '', unit: 'µs' });
    rows.push({ metric: "the cluster primary's hand-off of a new connection, on top", ours: http.handOff, sks: '', unit: 'µs' });
    if (hundred.length > 0) {
      const reps = Array.from({ length: Math.max(400, hundred.length) }, (_, i) => hundred[i % hundred.length]!);
      const v = timeEach(reps, (f) => request(`op=vindex&search=0x${f}`));
      const g = timeEach(reps, (f) => request(`op=get&options=mr&search=0x${f}`));
      console.log(`\nvindex of the ${hundred.length} keys with 90-110 signatures: ${v.toFixed(1)} µs, their op=get ${g.toFixed(1)} µs ` +
        `(${(v / g).toFixed(2)}x; caches off)`);
      rows.push({ metric: `vindex / op=get of the ${hundred.length} keys with 90-110 signatures, caches off`, ours: v / g, sks: '', unit: 'x', target: '<= 2' });
    }
    for (const s of stages) {
      for (const [col, v] of [['get mr', s.get], ['index mr', s.mr], ['index html', s.html], ['vindex', s.vindex]] as const) {
        if (v !== undefined) rows.push({ metric: `${s.stage}, ${col}`, ours: v, sks: '', unit: 'µs' });
      }
    }
    return rows;
  } finally {
    close();
  }
}

// Run directly: the table above is the output.
if (import.meta.url === `file://${process.argv[1]}`) {
  await runLookupStagesBench();
  process.exit(0);
}
