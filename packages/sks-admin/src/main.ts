#!/usr/bin/env node
// sks-admin: the operator's command line (SKS's `sks build`, `sks dump`, ... for this suite). Usage:
//   sks-admin init                                   base directory with sksconf, membership, web root, empty db
//   sks-admin load [--dir DIR | --url URL | FILE...] load keydump files (resumable; rerun after an interruption);
//                                                    without any, what an earlier --url run put in dump-download
//   sks-admin dump [--out DIR]                       write the store as SKS dump files (dump_keys_per_file each)
//   sks-admin gen --keys N --out DIR [--profile default|public] [--seed S] [--flooded K] [--flood-certs C] [--dups D]
//                 [--per-file N] [--no-v6]          a synthetic keydump (public: shaped like the public SKS dump)
//   sks-admin block FINGERPRINT --reason TEXT        refuse a key everywhere and remove its stored copy
//   sks-admin unblock FINGERPRINT
//   sks-admin rebuild-ptree                          build the digest sets of newly active recon profiles, then
//                                                    recompute every set's prefix tree from its stored digests
//   sks-admin restore FILE                           a backup (sks-cron's backup job) into a base directory without a database
//   sks-admin stats                                  key count, blocklist size, change log position
//   sks-admin deletions [--verbose]                   keys removed at their owner's signed request (the audit)
//   sks-admin mail-in                                one sync mail on standard input (an MTA pipe): ADD / incremental
//                                                    key mail from mail_in_allowed senders is merged, not pushed on
// Every command takes --basedir DIR (default $SKS_BASEDIR, else volumes/sks).
import { copyFileSync, existsSync, mkdirSync, realpathSync, renameSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { dirname, join, resolve } from 'node:path';
import { KeyStore, createLogger, integrityOk, isoSeconds, loadBasedir, policyFromSettings, type BaseDir } from '@sks/keystore';
import { UsageError, intArg as int, readArgs } from '@sks/service';
import { initBasedir } from './init.js';
import { findDumpFiles, formatSummary, loadFiles } from './load.js';
import { dumpStore } from './dump.js';
import { generateDump, DEFAULT_GEN, GEN_PROFILES, type GenParams, type GenProfile } from './gen.js';
import { downloadDump } from './download.js';
import { Progress } from './progress.js';
import { mailIn } from './mail-in.js';

const USAGE = `usage: sks-admin <init|load|dump|gen|block|unblock|rebuild-ptree|stats|restore|mail-in|deletions> [options] [--basedir DIR]
  load [--dir DIR | --url URL | FILE...] [--workers N] [--batch-keys N] [--bulk | --no-bulk]
       (bulk mode, the default into an empty store, builds the lookup indexes once at the end)
  dump [--out DIR]
  gen --keys N --out DIR [--profile default|public] [--seed S] [--flooded K] [--flood-certs C] [--dups D]
      [--per-file N] [--no-v6] [--workers N]
      (default: small keys, mostly Ed25519; public: v4 keys shaped like the public SKS dump, ~2 KB each)
  block FINGERPRINT --reason TEXT | unblock FINGERPRINT | rebuild-ptree | stats | restore FILE
  mail-in < message | deletions [--verbose]`;

function openStore(base: BaseDir, extra: { cacheMiB?: number } = {}): KeyStore {
  if (!existsSync(base.dbPath)) initBasedir(base.dir);
  const logger = createLogger({ service: 'sks-admin', dir: base.path(base.settings.log_dir), level: base.settings.log_level, console: false });
  return KeyStore.open(base.dbPath, { policy: policyFromSettings(base.settings), logger, busyTimeoutMs: base.settings.db_busy_timeout_ms, ...extra });
}

function fingerprintArg(v: string | undefined): string {
  const fp = (v ?? '').replace(/^0x/i, '').replace(/\s+/g, '').toUpperCase();
  if (!/^([0-9A-F]{32}|[0-9A-F]{40}|[0-9A-F]{64})$/.test(fp)) {
    throw new UsageError(`a primary key fingerprint is 32, 40 or 64 hex digits, got "${v ?? ''}"`);
  }
  return fp;
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  const { values: o, positionals } = readArgs(rest, {
    basedir: { type: 'string' }, dir: { type: 'string' }, url: { type: 'string' }, out: { type: 'string' },
    workers: { type: 'string' }, keys: { type: 'string' }, seed: { type: 'string' }, flooded: { type: 'string' },
    'flood-certs': { type: 'string' }, dups: { type: 'string' }, 'per-file': { type: 'string' }, profile: { type: 'string' },
    reason: { type: 'string' }, verbose: { type: 'boolean' }, 'no-v6': { type: 'boolean' }, 'batch-keys': { type: 'string' }, bulk: { type: 'boolean' }, 'no-bulk': { type: 'boolean' }, quiet: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
  }, { positionals: true });
  if (!cmd || cmd === 'help' || cmd === '--help' || o.help) {
    console.log(USAGE);
    return cmd ? 0 : 2;
  }
  const base = loadBasedir(o.basedir);
  for (const w of base.warnings) console.error(w);
  const workers = o.workers === undefined ? undefined : int(o.workers, 'workers', 0);

  switch (cmd) {
    case 'mail-in': {
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const c of process.stdin as AsyncIterable<Buffer>) {
        size += c.length;
        if (size <= base.settings.mail_in_max_bytes + 1) chunks.push(c); // read to the end, keep a bounded part
      }
      const store = openStore(base);
      try {
        const logger = createLogger({ service: 'sks-admin', dir: base.path(base.settings.log_dir), level: base.settings.log_level, console: false });
        const r = await mailIn(Buffer.concat(chunks), store, base.settings, logger);
        console.log(`mail-in: ${r.status}: ${r.detail}${r.counts ? ` ${JSON.stringify(r.counts)}` : ''}`);
        return r.exitCode;
      } finally {
        store.close();
      }
    }
    case 'init': {
      const r = initBasedir(base.dir);
      console.log(r.created.length ? `created in ${r.dir}:\n  ${r.created.join('\n  ')}` : `${r.dir} is complete; nothing created`);
      if (r.migratedFrom !== undefined) console.log(`migrated the database from schema version ${r.migratedFrom}`);
      return 0;
    }
    case 'gen': {
      if (!o.out) throw new UsageError('gen needs --out DIR');
      const profile = (o.profile ?? 'default') as GenProfile;
      if (!GEN_PROFILES.includes(profile)) throw new UsageError(`--profile is one of ${GEN_PROFILES.join(', ')}, got "${o.profile}"`);
      const params: GenParams = {
        keys: int(o.keys, 'keys', DEFAULT_GEN.keys),
        seed: o.seed ?? DEFAULT_GEN.seed,
        flooded: int(o.flooded, 'flooded', 0),
        floodCerts: int(o['flood-certs'], 'flood-certs', DEFAULT_GEN.floodCerts),
        dups: int(o.dups, 'dups', 0),
        keysPerFile: int(o['per-file'], 'per-file', base.settings.dump_keys_per_file),
        v6: !o['no-v6'],
        ...(profile === 'default' ? {} : { profile }),
      };
      const progress = new Progress('gen', process.stderr, { quiet: o.quiet });
      const m = await generateDump(resolve(o.out), params, {
        workers, onProgress: (keys, _blocks, bytes) => progress.update({ keys, bytes, totalBytes: undefined }),
      });
      progress.done({ keys: m.keys, bytes: m.bytes });
      const sz = m.sizes!;
      console.log(`wrote ${m.keys} keys (${profile} profile) as ${m.blocks} key blocks (${m.dups} split, ${m.flooded} flooded), ` +
        `${(m.bytes / 1048576).toFixed(1)} MB in ${m.files.length} files to ${resolve(o.out)} in ${(m.ms / 1000).toFixed(1)} s ` +
        `(${(m.ms / m.keys).toFixed(2)} ms a key); key blocks: mean ${sz.mean} bytes, median ${sz.median}, ` +
        `99th percentile ${sz.p99}, largest ${sz.max}; algorithms: ${Object.entries(m.algos).map(([a, n]) => `${a} ${n}`).join(', ')}`);
      return 0;
    }
    case 'load': {
      let files: string[];
      if (o.url) {
        const dl = join(base.dir, 'dump-download');
        const r = await downloadDump(o.url, dl, (s) => console.error(`download: ${s}`));
        console.error(`download: ${r.fetched} files fetched (${(r.bytes / 1048576).toFixed(1)} MB) into ${dl}`);
        files = r.files;
      } else if (o.dir) {
        if (!existsSync(o.dir)) throw new UsageError(`load: no folder ${o.dir}`);
        files = findDumpFiles(o.dir);
      } else if (positionals.length > 0) {
        files = positionals.map((p) => resolve(p));
      } else if (existsSync(join(base.dir, 'dump-download'))) {
        // an earlier --url run downloaded here: load (or resume loading) what it fetched
        files = findDumpFiles(join(base.dir, 'dump-download'));
      } else {
        throw new UsageError('load needs --dir DIR (DUMP_DIR), --url URL (DUMP_URL) or files');
      }
      if (files.length === 0) throw new UsageError('load: no *.pgp, *.gpg or *.asc files found');
      // A keydump load writes millions of rows: a large page cache keeps the hot index pages in memory.
      const store = openStore(base, { cacheMiB: base.settings.load_cache_mib });
      // Into an empty store (the first `make install`, before anything serves from it) load in bulk mode: the
      // lookup indexes are built once by sorting at the end instead of row by row (KeyStore.beginBulkLoad).
      const bulk = o['no-bulk'] === undefined && (o.bulk !== undefined || store.count() === 0);
      if (bulk) store.beginBulkLoad({ synchronousOff: base.settings.load_synchronous_off });
      const ac = new AbortController();
      const onSignal = () => {
        if (ac.signal.aborted) process.exit(130);
        console.error('\nstopping after the batches already read (Ctrl-C again to quit at once; a rerun resumes)');
        ac.abort();
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      try {
        const batchKeys = Math.max(1, int(o['batch-keys'], 'batch-keys', base.settings.load_batch_keys));
        const s = await loadFiles({
          store, files, policy: store.policy, workers, batchKeys, batchBytes: base.settings.load_batch_bytes,
          signal: ac.signal, progress: !o.quiet,
        });
        console.log(formatSummary(s));
        return s.interrupted ? 130 : 0;
      } finally {
        if (bulk) {
          if (!o.quiet) console.error('building the lookup indexes, the prefix tree and the vindex listing pages of the bulk load...');
          const t0 = Date.now();
          const built = store.endBulkLoad();
          if (!o.quiet) console.error(`built ${built.join(', ') || 'nothing'} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
        }
        store.close();
      }
    }
    case 'dump': {
      const out = resolve(o.out ?? base.path(base.settings.dump_dir));
      if (!existsSync(base.dbPath)) throw new UsageError(`dump: no database at ${base.dbPath}`);
      const r = dumpStore(base.dbPath, out, base.settings.dump_keys_per_file, { progress: !o.quiet });
      console.log(`dumped ${r.keys} keys (${(r.bytes / 1048576).toFixed(1)} MB) into ${r.files.length} files in ${out}`);
      return 0;
    }
    case 'block': {
      const fp = fingerprintArg(positionals[0]);
      if (!o.reason) throw new UsageError('block needs --reason TEXT');
      const store = openStore(base);
      try {
        const removed = store.block(fp, o.reason);
        console.log(`blocked ${fp}${removed ? '; its stored copy was removed' : ''}`);
      } finally {
        store.close();
      }
      return 0;
    }
    case 'restore': {
      const file = positionals[0];
      if (!file || !existsSync(file)) throw new UsageError('restore needs the backup file to restore (sks-cron\'s backup_dir holds them)');
      if (existsSync(base.dbPath)) {
        throw new UsageError(`restore: ${base.dbPath} exists; restore into a base directory without a database (move that one away first)`);
      }
      // The copy must be sound before it replaces anything.
      const copy = KeyStore.open(resolve(file), { readonly: true });
      let keys: number;
      try {
        const problems = copy.integrityCheck(base.settings.integrity_max_errors);
        if (!integrityOk(problems)) throw new Error(`restore: ${file} fails its integrity check: ${problems.join('; ')}`);
        keys = copy.count();
      } finally {
        copy.close();
      }
      mkdirSync(dirname(base.dbPath), { recursive: true });
      const tmp = `${base.dbPath}.restore-tmp`;
      copyFileSync(resolve(file), tmp);
      renameSync(tmp, base.dbPath);
      // The rest of the base directory, and the first writable open (WAL, anything a load left to do).
      initBasedir(base.dir);
      console.log(`restored ${keys} keys from ${file} into ${base.dbPath}`);
      return 0;
    }
    case 'unblock': {
      const fp = fingerprintArg(positionals[0]);
      const store = openStore(base);
      try {
        console.log(store.unblock(fp) ? `unblocked ${fp}` : `${fp} was not blocked`);
      } finally {
        store.close();
      }
      return 0;
    }
    case 'rebuild-ptree': {
      const store = openStore(base);
      try {
        const t0 = Date.now();
        const built = store.buildProfileSets();
        if (built > 0) console.log(`recon profile sets built over ${built} stored keys`);
        // one write transaction: nobody changes keys between reading the digests and writing the trees
        const { size, problems } = store.rebuildReconSet();
        console.log(`prefix tree rebuilt from ${size} digests in ${((Date.now() - t0) / 1000).toFixed(1)} s` +
          (problems.length ? `; verify: ${problems.slice(0, 5).join('; ')}` : '; verify ok'));
        return problems.length ? 1 : 0;
      } finally {
        store.close();
      }
    }
    case 'deletions': {
      // The operator's audit of keys removed at their owner's signed request: who signed, when, the request itself.
      if (!existsSync(base.dbPath)) throw new UsageError(`deletions: no database at ${base.dbPath}`);
      const store = KeyStore.open(base.dbPath, { readonly: true });
      try {
        const list = store.ownerDeletions();
        for (const d of list) {
          console.log(`${d.fingerprint}  removed ${isoSeconds(d.received)}  request issued ${isoSeconds(d.issued)}, expires ${isoSeconds(d.expires)}, signed by ${d.signer}`
            + `  ${store.isBlocked(d.fingerprint) ? 'blocked' : 'NOT blocked now (lifted by an operator)'}`);
          if (o.verbose) console.log(d.request.split('\n').map((l) => `    ${l}`).join('\n'));
        }
        console.log(`${list.length} owner deletion(s)`);
      } finally {
        store.close();
      }
      return 0;
    }
    case 'stats': {
      if (!existsSync(base.dbPath)) throw new UsageError(`stats: no database at ${base.dbPath}`);
      const store = KeyStore.open(base.dbPath, { readonly: true, policy: policyFromSettings(base.settings) });
      try {
        const sets = store.reconSets().filter((s) => s.profile !== 'sks')
          .map((s) => `\n${s.profile} digest set: ${s.size}${s.building ? ' (being built: sks-recon or rebuild-ptree completes it)' : ''}`);
        console.log(`base directory: ${base.dir}\ndatabase: ${base.dbPath}\nkeys: ${store.count()}\n` +
          `prefix tree elements: ${store.reconView.size()}${sets.join('')}\nblocked fingerprints: ${store.blocklist().length}\nchange log seq: ${store.lastSeq()}`);
      } finally {
        store.close();
      }
      return 0;
    }
    default:
      throw new UsageError(`unknown command "${cmd}"\n${USAGE}`);
  }
}

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href;
if (isMain) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      if (err instanceof UsageError) {
        console.error(`sks-admin: ${(err as Error).message}`);
        process.exitCode = 2;
      } else {
        console.error(`sks-admin: ${(err as Error).stack ?? err}`);
        process.exitCode = 1;
      }
    },
  );
}
