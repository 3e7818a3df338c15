// Starting and stopping the recon service in this process: used by main.ts, the tests and the suite runner.
import { KeyStore, createLogger, loadBasedir, policyFromSettings, type Logger, type Settings } from '@sks/keystore';
import { recordReconSession, resolveSettings, startMetricsServer } from '@sks/service';
import { ReconServer } from './server.js';

export interface ReconOptions {
  /** Base directory (sksconf, membership, database); default $SKS_BASEDIR. */
  basedir?: string;
  /** Overrides of the base directory's sksconf. */
  settings?: Partial<Settings>;
  logger?: Logger;
  /** An already open writable store (its owner closes it); default: open <basedir>/<db_file>. */
  store?: KeyStore;
}

export interface RunningRecon {
  server: ReconServer;
  /** The recon port actually bound. */
  port: number;
  store: KeyStore;
  stop(): Promise<void>;
}

export async function startRecon(opts: ReconOptions = {}): Promise<RunningRecon> {
  const base = loadBasedir(opts.basedir);
  const settings = resolveSettings(base, opts.settings);
  const logger = opts.logger ??
    createLogger({ service: 'sks-recon', dir: base.path(settings.log_dir), level: settings.log_level });
  for (const w of base.warnings) logger.warn(w);
  const ownStore = !opts.store;
  const store = opts.store ?? KeyStore.open(base.path(settings.db_file), {
    policy: policyFromSettings(settings), logger, busyTimeoutMs: settings.db_busy_timeout_ms,
    checkpointEveryMs: settings.wal_checkpoint_interval_ms, prefetchThreads: settings.db_prefetch_threads,
  });
  // A recon profile made active on a filled store: its set is built before any peer of that profile is answered
  // (its sessions are turned away until then; the other profiles' peers are not kept waiting for long: batches).
  if (store.reconSets().some((s) => s.building)) {
    const t0 = Date.now();
    let logged = 0;
    logger.info('building the digest sets of newly active recon profiles', { keys: store.count() });
    const done = store.buildProfileSets((p) => {
      if (Date.now() - logged < 10_000) return;
      logged = Date.now();
      logger.info('recon profile set build progress', p);
    });
    logger.info('recon profile sets built', { keys: done, ms: Date.now() - t0, sets: store.reconSets() });
  }
  const server = new ReconServer({ store, settings, membershipFile: base.path('membership'), logger });
  server.on('session', recordReconSession);
  // Prometheus metrics on metrics_port + 1 (sks-db has metrics_port); 0 = off.
  const metrics = settings.metrics_port > 0
    ? await startMetricsServer({ port: settings.metrics_port + 1, address: settings.metrics_address })
    : undefined;
  try {
    await server.start();
  } catch (e) {
    await server.stop();
    await metrics?.stop();
    if (ownStore) store.close();
    throw e;
  }
  return {
    server,
    port: server.port,
    store,
    async stop() {
      await server.stop();
      await metrics?.stop();
      if (ownStore) store.close();
      logger.info('sks-recon stopped');
    },
  };
}
