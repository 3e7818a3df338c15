// Real SKS 1.1.6 (Debian's /usr/sbin/sks) for interop tests and benchmarks, on 127.0.0.1 only.
// Debian's build resolves every path under -basedir (etc/sks, var/lib/sks, var/log/sks, var/run/sks), so each
// instance gets its own tree. Nothing here uses the project's own OpenPGP code: the checks must not lean on it.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync, readFileSync, readdirSync, existsSync, openSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir } from './tmp.js';
import { freePortPair, waitForPort } from './ports.js';
import { keyBlocks } from './keyrings.js';

export const SKS_BIN = '/usr/sbin/sks';

export interface Sks {
  basedir: string;
  hkpPort: number;
  reconPort: number;
  hkpUrl: string;
  stop(): Promise<void>;
  /** Process ids of `sks db` and `sks recon` (while they run). */
  pids(): number[];
  /** Stops both daemons, runs fn (e.g. an offline `sks dump`), starts them again. */
  whileStopped<T>(fn: () => T | Promise<T>): Promise<T>;
}

export interface SksConfOptions {
  hkpPort: number;
  reconPort: number;
  membership?: Array<{ host: string; port: number }>;
  /** false writes `dontgossip:` (SKS then only answers). SKS's gossip_interval is in minutes. */
  gossip?: boolean;
  /** Extra `sksconf` lines, e.g. `gossip_interval: 0.05` (SKS's unit is minutes). */
  extraConf?: string;
}

function makeTree(basedir: string): void {
  for (const d of ['etc/sks', 'var/lib/sks', 'var/log/sks', 'var/run/sks', 'var/spool/sks', 'var/lib/sks/www']) {
    mkdirSync(join(basedir, d), { recursive: true });
  }
}

/** Writes sksconf and membership for an instance. */
export function writeSksConf(basedir: string, o: SksConfOptions): void {
  makeTree(basedir);
  const lines = [
    'hkp_address: 127.0.0.1',
    `hkp_port: ${o.hkpPort}`,
    'recon_address: 127.0.0.1',
    `recon_port: ${o.reconPort}`,
    'initial_stat:',
    'disable_mailsync:',
    'server_contact: 0x0000000000000000',
    'membership_reload_interval: 1',
    'debuglevel: 4',
  ];
  if (o.gossip === false) lines.push('dontgossip:');
  if (o.extraConf) lines.push(o.extraConf.trim());
  writeFileSync(join(basedir, 'etc/sks/sksconf'), lines.join('\n') + '\n');
  writeFileSync(
    join(basedir, 'etc/sks/membership'),
    (o.membership ?? []).map((m) => `${m.host} ${m.port}`).join('\n') + '\n',
  );
}

function run(args: string[], basedir: string, logName: string): { status: number | null; signal: string | null; log: string } {
  const logFile = join(basedir, logName);
  const fd = openSync(logFile, 'a');
  const r = spawnSync(SKS_BIN, args, { cwd: basedir, stdio: ['ignore', fd, fd], timeout: 3 * 3600_000 });
  closeSync(fd);
  return { status: r.status, signal: r.signal, log: readFileSync(logFile, 'utf8') };
}

/** `sks build` + `sks cleandb` + `sks pbuild` from binary keyring or dump files into a fresh base directory. */
export async function buildSks(opts: {
  keyFiles: string[];
  basedir?: string;
  /** Go on to pbuild when cleandb crashes mid-merge (Debian's cleandb aborts with "get_dups retrieved empty list"
   * on large dumps with duplicates); the result then says so in `cleandbCrash`. */
  tolerateCleandbCrash?: boolean;
}): Promise<{ basedir: string; ms: number; log: string; cleandbCrash?: string }> {
  const basedir = opts.basedir ?? makeTempDir('sks-real-');
  makeTree(basedir);
  if (!existsSync(join(basedir, 'etc/sks/sksconf'))) writeSksConf(basedir, { hkpPort: 11371, reconPort: 11370 });
  const t0 = Date.now();
  const b = run(['build', '-basedir', basedir, ...opts.keyFiles, '-n', '10', '-cache', '100'], basedir, 'build.out');
  if (b.status !== 0) throw new Error(`sks build failed (${b.status ?? b.signal}):\n${b.log.slice(-2000)}`);
  // Debian's cleandb segfaults on some inputs after its merge pass has completed (reproducible with
  // debian-keyring.gpg alone); sks_build.sh itself runs it twice. Accept that, but only after a completed merge.
  let cleandbCrash: string | undefined;
  let c = run(['cleandb', '-basedir', basedir], basedir, 'cleandb.out');
  if (c.status !== 0) c = run(['cleandb', '-basedir', basedir], basedir, 'cleandb.out');
  if (c.status !== 0) {
    const cleanLog = readLog(basedir, 'clean.log');
    if (!/Completed key merge/.test(cleanLog)) {
      const why = `${c.log.trim().split('\n').slice(-2).join(' / ')}`;
      if (!opts.tolerateCleandbCrash) throw new Error(`sks cleandb failed before merging: ${why}\n${cleanLog.slice(-2000)}`);
      cleandbCrash = why;
    }
  }
  const p = run(['pbuild', '-basedir', basedir, '-cache', '20', '-ptree_cache', '70'], basedir, 'pbuild.out');
  if (p.status !== 0) throw new Error(`sks pbuild failed (${p.status ?? p.signal}):\n${p.log.slice(-2000)}`);
  return { basedir, ms: Date.now() - t0, log: b.log + c.log + p.log, cleandbCrash };
}

function readLog(basedir: string, name: string): string {
  const f = join(basedir, 'var/log/sks', name);
  return existsSync(f) ? readFileSync(f, 'utf8') : '';
}

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of running) c.kill('SIGKILL');
});

function startDaemon(mode: 'db' | 'recon', basedir: string): ChildProcess {
  const fd = openSync(join(basedir, `${mode}.out`), 'a');
  const child = spawn(SKS_BIN, [mode, '-basedir', basedir], { cwd: basedir, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  running.add(child);
  child.on('exit', () => running.delete(child));
  return child;
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const done = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 5000);
  await done;
  clearTimeout(t);
}

/** Starts `sks db` and `sks recon` (building first when keyFiles are given) and waits until both listen. */
export async function startSks(opts: {
  basedir?: string;
  keyFiles?: string[];
  hkpPort?: number;
  reconPort?: number;
  membership?: Array<{ host: string; port: number }>;
  gossip?: boolean;
  extraConf?: string;
} = {}): Promise<Sks> {
  const basedir = opts.basedir ?? makeTempDir('sks-real-');
  let reconPort = opts.reconPort;
  let hkpPort = opts.hkpPort;
  if (!reconPort || !hkpPort) {
    const [r, h] = await freePortPair();
    reconPort ??= r;
    hkpPort ??= h;
  }
  writeSksConf(basedir, { hkpPort, reconPort, membership: opts.membership, gossip: opts.gossip, extraConf: opts.extraConf });
  if (opts.keyFiles) await buildSks({ keyFiles: opts.keyFiles, basedir });
  else if (!existsSync(join(basedir, 'var/lib/sks/DB'))) await buildSks({ keyFiles: [], basedir });
  let db: ChildProcess;
  let recon: ChildProcess;
  const up = async () => {
    db = startDaemon('db', basedir);
    await waitForPort(hkpPort!, 60000);
    recon = startDaemon('recon', basedir);
    await waitForPort(reconPort!, 60000);
  };
  const down = async () => {
    await stopChild(recon);
    await stopChild(db);
  };
  await up();
  return {
    basedir,
    hkpPort,
    reconPort,
    hkpUrl: `http://127.0.0.1:${hkpPort}`,
    stop: down,
    pids: () => [db.pid, recon.pid].filter((p): p is number => p !== undefined),
    async whileStopped(fn) {
      await down();
      try {
        return await fn();
      } finally {
        await up();
      }
    },
  };
}

/** Rewrites an instance's membership file (SKS reloads it; see membership_reload_interval). */
export function setSksMembership(sks: Sks, members: Array<{ host: string; port: number }>): void {
  writeFileSync(join(sks.basedir, 'etc/sks/membership'), members.map((m) => `${m.host} ${m.port}`).join('\n') + '\n');
}

/** Decodes the first ASCII-armored block of a text (base64 between the blank line and the checksum). */
export function dearmorSimple(text: string): Buffer {
  const m = /-----BEGIN PGP [A-Z ]+-----\r?\n((?:[^\r\n]+\r?\n)*)\r?\n([\s\S]*?)-----END PGP/.exec(text);
  if (!m) throw new Error('no armored block');
  const b64 = m[2]!.split(/\r?\n/).filter((l) => l && !l.startsWith('=')).join('');
  return Buffer.from(b64, 'base64');
}

/** The key SKS stores under a digest (op=hget), as binary packets, or null if it has none. */
export async function sksGetDigest(hkpUrl: string, digestHex: string): Promise<Buffer | null> {
  const res = await fetch(`${hkpUrl}/pks/lookup?op=hget&options=mr&search=${digestHex.toUpperCase()}`);
  if (res.status === 404) return null;
  const text = await res.text();
  if (res.status !== 200) {
    if (/No keys? found|not found/i.test(text)) return null;
    throw new Error(`SKS op=hget answered ${res.status}`);
  }
  return dearmorSimple(text);
}

/** Primary fingerprint (v4: SHA-1 over 0x99, length, body) and key ID of a key block, from RFC 9580 §5.5.4. */
function primaryIds(block: Buffer): { fingerprint: string; keyId: string } {
  const hdr = block[0]!;
  let off: number;
  let len: number;
  if (hdr & 0x40) {
    const b0 = block[1]!;
    if (b0 < 192) { len = b0; off = 2; } else if (b0 < 224) { len = ((b0 - 192) << 8) + block[2]! + 192; off = 3; }
    else { len = block.readUInt32BE(2); off = 6; }
  } else {
    const lt = hdr & 3;
    if (lt === 0) { len = block[1]!; off = 2; } else if (lt === 1) { len = block.readUInt16BE(1); off = 3; }
    else { len = block.readUInt32BE(1); off = 5; }
  }
  const body = block.subarray(off, off + len);
  if (body[0] === 4) {
    const h = createHash('sha1').update(Buffer.from([0x99, len >> 8, len & 0xff])).update(body).digest('hex').toUpperCase();
    return { fingerprint: h, keyId: h.slice(-16) };
  }
  throw new Error(`key version ${body[0]} in SKS dump: extend primaryIds`);
}

/** Every key in an SKS base directory, as binary blocks, read through `sks dump`. The daemons must be stopped:
 * a dump beside a running `sks db` panics its Berkeley DB environment. Use sksKeys(sks) on a running instance. */
export function sksDumpBlocks(basedir: string): Buffer[] {
  const out = makeTempDir('sks-dump-');
  const r = run(['dump', '-basedir', basedir, '100000', out], basedir, 'dump.out');
  if (r.status !== 0) throw new Error(`sks dump failed:\n${r.log.slice(-2000)}`);
  const blocks: Buffer[] = [];
  for (const f of readdirSync(out).filter((n) => n.endsWith('.pgp')).sort()) {
    blocks.push(...keyBlocks(readFileSync(join(out, f))));
  }
  return blocks;
}

/** Number of keys SKS holds right now. */
export async function sksKeyCount(sks: Sks | string): Promise<number> {
  if (typeof sks === 'string') {
    const html = await (await fetch(`${sks}/pks/lookup?op=stats`)).text();
    const m = /Total number of keys:\s*(\d+)/.exec(html);
    if (!m) throw new Error('SKS stats page has no key count (is initial_stat set?)');
    return Number(m[1]);
  }
  return (await sksKeys(sks)).length;
}

/** Every key a running SKS holds (it is stopped for the dump and started again). */
export function sksKeys(sks: Sks): Promise<Buffer[]> {
  return sks.whileStopped(() => sksDumpBlocks(sks.basedir));
}

/** Every digest SKS holds (lower-case hex), as SKS itself reports it: the key list comes from `sks dump`, and each
 * key's digest from SKS's own `op=index&hash=on` answer, so no digest is computed by test code. */
export async function sksDigestSet(sks: Sks): Promise<Set<string>> {
  const set = new Set<string>();
  for (const block of await sksKeys(sks)) {
    const { fingerprint } = primaryIds(block);
    const res = await fetch(`${sks.hkpUrl}/pks/lookup?op=index&fingerprint=on&hash=on&search=0x${fingerprint}`);
    const html = await res.text();
    const hashes = [...html.matchAll(/Hash=<a[^>]*>([0-9A-Fa-f]{32})<\/a>/g)].map((m) => m[1]!.toLowerCase());
    if (hashes.length === 0) throw new Error(`SKS shows no hash for ${fingerprint} (status ${res.status})`);
    for (const h of hashes) set.add(h);
  }
  return set;
}
