// Test helpers of sks-db: a server of ours on a fresh base directory, real GnuPG homes, HTTP with raw control.
import { spawnSync, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import net from 'node:net';
import { KeyStore, type Settings } from '@sks/keystore';
import type { RunningDb } from '../../src/index.js';
import { makeTempDir } from '../../../../test/support/tmp.js';
import { freePort } from '../../../../test/support/ports.js';
import { sksconfText, startService } from '../../../../test/support/services.js';

process.env.SKS_QUIET ??= '1';

export interface Ours extends RunningDb {
  basedir: string;
  dbPath: string;
  /** The sks-db process (its workers are its children). */
  pid: number;
}

const MAIN = fileURLToPath(new URL('../../src/main.ts', import.meta.url));

/** Loads key files into a fresh store (as `sks-admin load` would) and starts sks-db on a free port, the way an
 * operator does: `sks-db --basedir DIR` in its own process (a cluster primary with `workers` workers, default 1),
 * configured by the sksconf written here. Its own process also because the tests run gpg with spawnSync, which
 * blocks this one while gpg's dirmngr waits for the server's answers. */
export async function startOurs(opts: {
  keyFiles?: string[];
  keys?: Array<Buffer | string>;
  settings?: Partial<Settings>;
  workers?: number;
  sksconf?: string;
  membership?: string;
} = {}): Promise<Ours> {
  const basedir = makeTempDir('sks-db-test-');
  if (opts.membership) writeFileSync(join(basedir, 'membership'), opts.membership);
  const dbPath = join(basedir, 'keys.sqlite');
  const store = KeyStore.open(dbPath);
  for (const f of opts.keyFiles ?? []) store.upsertMaterial(readFileSync(f), 'load');
  for (const k of opts.keys ?? []) store.upsertMaterial(k, 'load');
  store.close();
  const port = await freePort();
  const settings: Partial<Settings> = {
    hkp_port: port, hkp_address: ['127.0.0.1'], log_level: 'warn', db_workers: opts.workers ?? 1, ...(opts.settings ?? {}),
  };
  writeFileSync(join(basedir, 'sksconf'), (opts.sksconf ?? '') + '\n' + sksconfText(settings));
  const db = await startService('sks-db', basedir);
  return { port, url: `http://127.0.0.1:${port}`, basedir, dbPath, pid: db.child.pid!, stop: () => db.stop() };
}

/** Opens the store of a running server read-only, to check what is stored. */
export function withStore<T>(dbPath: string, fn: (s: KeyStore) => T): T {
  const s = KeyStore.open(dbPath, { readonly: true });
  try {
    return fn(s);
  } finally {
    s.close();
  }
}

export interface Gpg {
  home: string;
  run(args: string[], input?: string | Buffer): { status: number | null; stdout: string; stderr: string };
  cleanup(): void;
}

export interface GpgOptions {
  /** Extra dirmngr.conf lines (e.g. hkp-cacert). */
  dirmngr?: string[];
  /** Host names resolved to 127.0.0.1 for gpg and the dirmngr it starts, through a private mount namespace whose
   * /etc/hosts adds them (the machine's file is not touched; needs root, as CI has). */
  loopbackNames?: string[];
}

/** A fresh GnuPG home whose dirmngr talks only to our server on 127.0.0.1 (no IPv6, no proxy). */
export function makeGpg(keyserverUrl: string, o: GpgOptions = {}): Gpg {
  const home = makeTempDir('sks-db-gpg-');
  // An http:// keyserver makes dirmngr fetch that very URL on --recv-keys; hkp:// is the HKP protocol.
  const hkp = keyserverUrl.replace(/^http:/, 'hkp:');
  writeFileSync(join(home, 'dirmngr.conf'), [`keyserver ${hkp}`, 'disable-ipv6', 'standard-resolver', ...(o.dirmngr ?? []), ''].join('\n'));
  writeFileSync(join(home, 'gpg.conf'), 'no-auto-key-locate\ntrust-model always\n');
  const env = { ...process.env, GNUPGHOME: home, http_proxy: '', https_proxy: '', HTTP_PROXY: '', HTTPS_PROXY: '' };
  let command = ['gpg'];
  if (o.loopbackNames?.length) {
    const hosts = join(home, 'hosts');
    writeFileSync(hosts, `${readFileSync('/etc/hosts', 'utf8')}\n127.0.0.1 ${o.loopbackNames.join(' ')}\n`);
    command = ['unshare', '-m', 'sh', '-c', 'mount --bind "$0" /etc/hosts && exec gpg "$@"', hosts];
  }
  return {
    home,
    run(args, input) {
      const r = spawnSync(command[0]!, [...command.slice(1), '--homedir', home, '--batch', '--no-tty', ...args], {
        input, env, timeout: 60_000, maxBuffer: 64 * 1024 * 1024,
      });
      return { status: r.status, stdout: r.stdout?.toString('utf8') ?? '', stderr: r.stderr?.toString('utf8') ?? '' };
    },
    cleanup() {
      spawnSync('gpgconf', ['--homedir', home, '--kill', 'all'], { env, timeout: 10_000 });
    },
  };
}

/** Fingerprints (primary keys) in `gpg --with-colons` output. */
export function colonFingerprints(out: string): string[] {
  const fps: string[] = [];
  let afterPub = false;
  for (const line of out.split('\n')) {
    const f = line.split(':');
    if (f[0] === 'pub') afterPub = true;
    else if (f[0] === 'fpr' && afterPub) {
      fps.push(f[9]!);
      afterPub = false;
    } else if (f[0] === 'sub') afterPub = false;
  }
  return fps;
}

/** Generates a fresh Ed25519 key pair without passphrase in `gpg`; returns its fingerprint. */
export function genKey(gpg: Gpg, uid: string): string {
  const r = gpg.run(['--passphrase', '', '--pinentry-mode', 'loopback', '--quick-gen-key', uid, 'ed25519', 'sign', '0']);
  if (r.status !== 0) throw new Error(`gpg --quick-gen-key failed: ${r.stderr}`);
  const l = gpg.run(['--with-colons', '--list-keys', uid]);
  const fp = colonFingerprints(l.stdout)[0];
  if (!fp) throw new Error(`no fingerprint for ${uid}: ${l.stdout}`);
  return fp;
}

export interface RawResponse {
  status: number;
  headers: string;
  body: Buffer;
}

/** Sends raw bytes over TCP and reads until the server closes (or `idleMs` passes); returns the parsed reply. */
export function rawHttp(port: number, request: string | Buffer, idleMs = 3000): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    s.setTimeout(idleMs, () => s.end());
    s.on('data', (c) => chunks.push(c));
    s.on('error', reject);
    s.on('close', () => {
      const all = Buffer.concat(chunks);
      const sep = all.indexOf('\r\n\r\n');
      const headers = all.subarray(0, sep < 0 ? all.length : sep).toString('latin1');
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(headers);
      resolve({ status: m ? Number(m[1]) : 0, headers, body: sep < 0 ? Buffer.alloc(0) : all.subarray(sep + 4) });
    });
    s.write(request);
  });
}

/** Runs a child process to completion (for wrk, nginx -t, ...). */
export function runProcess(cmd: string, args: string[], timeoutMs = 120_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    const t = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.on('close', (code) => {
      clearTimeout(t);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Minimal independent de-armoring for checks (the tests must not lean on the key store's own armor code). */
export function dearmorAll(text: string): Buffer {
  const out: Buffer[] = [];
  const re = /-----BEGIN PGP PUBLIC KEY BLOCK-----\r?\n([\s\S]*?)-----END PGP PUBLIC KEY BLOCK-----/g;
  for (const m of text.matchAll(re)) {
    const lines = m[1]!.split(/\r?\n/);
    const blank = lines.findIndex((l) => l.trim() === '');
    const b64 = lines.slice(blank + 1).filter((l) => l && !l.startsWith('=')).join('');
    out.push(Buffer.from(b64, 'base64'));
  }
  return Buffer.concat(out);
}

/** The WKD hash of an address as GnuPG's gpg-wks-client computes it (not by our code). */
export function wkdHashOf(addr: string): string {
  const r = spawnSync('/usr/lib/gnupg/gpg-wks-client', ['--print-wkd-hash', addr]);
  return r.stdout.toString().split(' ')[0]!.trim();
}

/** User IDs of binary key data, as GnuPG reads them. */
export function uidsOf(data: Buffer | Uint8Array): string[] {
  const home = makeTempDir('uids-');
  const r = spawnSync('gpg', ['--homedir', home, '--batch', '--with-colons', '--show-keys'], { input: Buffer.from(data) });
  spawnSync('gpgconf', ['--homedir', home, '--kill', 'all']);
  return r.stdout.toString().split('\n').filter((l) => l.startsWith('uid:')).map((l) => l.split(':')[9]!);
}

/** Runs the `sks-db wkd-export` CLI for `domain` into `out`; fails the test if it does not exit 0. */
export function runWkdExport(basedir: string, domain: string, out: string): void {
  const r = spawnSync(process.execPath, ['--conditions=source', '--import', 'tsx', MAIN, 'wkd-export', '--basedir', basedir, '--domain', domain, '--out', out], {
    env: { ...process.env, SKS_QUIET: '1' },
  });
  if (r.status !== 0) throw new Error(`wkd-export exited ${r.status}: ${r.stderr}`);
}

/** Runs fn over items with `width` requests in flight (for comparing many answers of two servers). */
export async function eachConcurrently<T>(items: T[], fn: (x: T) => Promise<void>, width = 8): Promise<void> {
  let i = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (i < items.length) await fn(items[i++]!);
  }));
}
