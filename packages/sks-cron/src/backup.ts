// The backup job: a consistent copy of the database taken while the services write (the store's backupTo), checked
// with SQLite's integrity check before it counts, named by its time; the backup_keep newest are kept.
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { KeyStore, integrityOk } from '@sks/keystore';
import { withStore, type CronContext } from './context.js';

const BACKUP_FILE = /^keys-\d{8}T\d{6}Z\.sqlite$/;

export interface BackupResult {
  file: string;
  bytes: number;
  keys: number;
  removed: string[];
}

export async function writeBackup(ctx: CronContext): Promise<BackupResult> {
  const dir = ctx.base.path(ctx.settings.backup_dir);
  mkdirSync(dir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const file = join(dir, `keys-${stamp}.sqlite`);
  const tmp = `${file}.tmp`;
  rmSync(tmp, { force: true });
  try {
    await withStore(ctx, (store) => store.backupTo(tmp));
    // The copy counts only once SQLite finds it sound and it opens as a key store of this version.
    const copy = KeyStore.open(tmp, { readonly: true });
    let keys: number;
    try {
      const problems = copy.integrityCheck(ctx.settings.integrity_max_errors);
      if (!integrityOk(problems)) throw new Error(`the backup failed its integrity check: ${problems.join('; ')}`);
      keys = copy.count();
    } finally {
      copy.close();
    }
    renameSync(tmp, file);
    const removed = readdirSync(dir).filter((n) => BACKUP_FILE.test(n)).sort().reverse().slice(Math.max(1, ctx.settings.backup_keep));
    for (const n of removed) rmSync(join(dir, n), { force: true });
    return { file, bytes: statSync(file).size, keys, removed };
  } finally {
    if (existsSync(tmp)) rmSync(tmp, { force: true });
  }
}
