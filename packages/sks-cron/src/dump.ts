// Periodic keydump into <basedir>/<dump_dir>, for other operators to bootstrap from (`sks-admin load --url`).
// The library's dump writer produces the files into dump_dir/.incoming; each is then renamed over its old copy, so a
// download in progress keeps reading the old file and nobody sees a half-written one. A metadata file says when
// the dump was taken and what it holds.
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KeyStore, writeKeyDump } from '@sks/keystore';
import type { CronContext } from './context.js';

const DUMP_FILE = /^sks-dump-\d{4,}\.pgp$/;
export const DUMP_METADATA = 'metadata-sks-dump.txt';

export async function writeDump(ctx: CronContext): Promise<{ dir: string; files: number; keys: number; bytes: number }> {
  const dir = ctx.base.path(ctx.settings.dump_dir);
  const incoming = join(dir, '.incoming');
  rmSync(incoming, { recursive: true, force: true });
  mkdirSync(incoming, { recursive: true });
  try {
    const started = new Date();
    const store = KeyStore.open(ctx.base.path(ctx.settings.db_file), { readonly: true, logger: ctx.logger });
    let r;
    try {
      r = writeKeyDump(store, incoming, ctx.settings.dump_keys_per_file);
    } finally {
      store.close();
    }
    for (const f of r.files) renameSync(join(incoming, f), join(dir, f));
    const fresh = new Set(r.files);
    for (const n of readdirSync(dir)) if (DUMP_FILE.test(n) && !fresh.has(n)) unlinkSync(join(dir, n));
    const meta = [
      `# SKS keydump written by sks-cron: load it with "sks-admin load --dir" (or --url) on a fresh server.`,
      `Date: ${started.toISOString()}`,
      `Hostname: ${ctx.settings.hostname}`,
      `Keys: ${r.keys}`,
      `Files: ${r.files.length}`,
      `Bytes: ${r.bytes}`,
      `KeysPerFile: ${ctx.settings.dump_keys_per_file}`,
      '',
    ].join('\n');
    writeFileSync(join(incoming, DUMP_METADATA), meta);
    renameSync(join(incoming, DUMP_METADATA), join(dir, DUMP_METADATA));
    return { dir, files: r.files.length, keys: r.keys, bytes: r.bytes };
  } finally {
    if (existsSync(incoming)) rmSync(incoming, { recursive: true, force: true });
  }
}
