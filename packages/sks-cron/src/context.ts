// What every job gets: the base directory, its settings, a logger, and a way to open the shared key store.
import { KeyStore, createLogger, loadBasedir, policyFromSettings, type BaseDir, type Logger, type Settings } from '@sks/keystore';
import { resolveSettings } from '@sks/service';

export interface CronContext {
  base: BaseDir;
  settings: Settings;
  logger: Logger;
  /** Opens the shared store (writable); the job closes it when done, so no snapshot is held between runs. */
  openStore(): KeyStore;
}

export interface CronOptions {
  basedir?: string;
  settings?: Partial<Settings>;
  logger?: Logger;
}

export function cronContext(opts: CronOptions = {}): CronContext {
  const base = loadBasedir(opts.basedir);
  const settings = resolveSettings(base, opts.settings);
  const logger =
    opts.logger ?? createLogger({ service: 'sks-cron', dir: base.path(settings.log_dir), level: settings.log_level });
  for (const w of base.warnings) logger.warn(w);
  return {
    base,
    settings,
    logger,
    openStore: () => KeyStore.open(base.path(settings.db_file), {
      policy: policyFromSettings(settings), logger, busyTimeoutMs: settings.db_busy_timeout_ms,
    }),
  };
}

/** Runs `fn` on a freshly opened store and closes it afterwards. */
export async function withStore<T>(ctx: CronContext, fn: (store: KeyStore) => T | Promise<T>): Promise<T> {
  const store = ctx.openStore();
  try {
    return await fn(store);
  } finally {
    store.close();
  }
}
