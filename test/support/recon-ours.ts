// One of our keyservers for the interop tests and the benchmark: a base directory with its own SQLite key store,
// sks-db (HKP, /pks/hashquery) served in this process, and sks-recon on the same store, all on 127.0.0.1.
import { writeFileSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { KeyStore, createLogger, defaultSettings, policyFromSettings, type Settings } from '../../packages/keystore/src/index.js';
import { startDb, type RunningDb } from '../../packages/sks-db/src/index.js';
import { startRecon, type RunningRecon } from '../../packages/sks-recon/src/start.js';
import type { SessionSummary } from '../../packages/sks-recon/src/server.js';
import { freePortPair } from './ports.js';
import { makeTempDir } from './tmp.js';

export interface Ours {
  basedir: string;
  store: KeyStore;
  recon: RunningRecon;
  db: RunningDb;
  reconPort: number;
  hkpPort: number;
  /** Every session summary the recon server emitted, in order. */
  sessions: SessionSummary[];
  /** sks-recon's JSON log lines so far. */
  logLines(): Array<Record<string, unknown>>;
  setPeers(peers: Array<{ host: string; port: number; profile?: string }>): Promise<void>;
  /** The digests of one recon profile's set (default sks). */
  digestSet(profile?: string): Set<string>;
  stop(): Promise<void>;
}

export interface OursOptions {
  /** Key data loaded before the services start (binary packets, any number of keys). */
  keys?: Buffer;
  peers?: Array<{ host: string; port: number; profile?: string }>;
  /** Settings of both services (policy limits, timeouts, gossip). */
  settings?: Partial<Settings>;
}

export async function startOurs(o: OursOptions = {}): Promise<Ours> {
  const basedir = makeTempDir('recon-ours-');
  const [reconPort, hkpPort] = await freePortPair();
  const settings: Partial<Settings> = {
    recon_address: ['127.0.0.1'], recon_port: reconPort, hkp_address: ['127.0.0.1'], hkp_port: hkpPort,
    disable_gossip: true, membership_reload_s: 3600, ...o.settings,
  };
  const full = { ...defaultSettings(), ...settings } as Settings;
  const writeMembership = (peers: Array<{ host: string; port: number; profile?: string }>) =>
    writeFileSync(join(basedir, 'membership'), peers.map((p) => `${p.host} ${p.port}${p.profile ? ` ${p.profile}` : ''}\n`).join(''));
  writeMembership(o.peers ?? []);
  const logDir = join(basedir, 'log');
  const store = KeyStore.open(join(basedir, full.db_file), {
    policy: policyFromSettings(full), logger: createLogger({ service: 'sks-admin', console: false, dir: logDir }),
  });
  if (o.keys && o.keys.length > 0) store.upsertMaterial(o.keys, 'load');
  const db = await startDb({
    basedir, settings, workers: 0, logger: createLogger({ service: 'sks-db', console: false, dir: logDir }),
  });
  const recon = await startRecon({
    basedir, settings, store, logger: createLogger({ service: 'sks-recon', console: false, dir: logDir }),
  });
  const sessions: SessionSummary[] = [];
  recon.server.on('session', (s: SessionSummary) => sessions.push(s));
  return {
    basedir, store, recon, db, reconPort, hkpPort, sessions,
    logLines() {
      const f = join(logDir, 'sks-recon.log');
      if (!existsSync(f)) return [];
      return readFileSync(f, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
    },
    async setPeers(peers) {
      writeMembership(peers);
      await recon.server.reloadMembership();
    },
    digestSet(profile = 'sks') {
      return new Set([...store.digests(profile)].map((d) => d.toString('hex')));
    },
    async stop() {
      await recon.stop();
      await db.stop();
      store.close();
    },
  };
}

/** Polls `cond` every 200 ms until it holds; throws with `what` after timeoutMs. */
export async function waitFor(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
