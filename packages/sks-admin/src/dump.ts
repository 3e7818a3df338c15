// `sks-admin dump`: the store as SKS keydump files: sks-dump-0000.pgp, ... with dump_keys_per_file binary keys
// each (the bytes served for each key), in digest order. Files are written under a temporary name and renamed,
// so a reader never sees half a file.
import { mkdirSync, openSync, writeSync, closeSync, renameSync, readdirSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { KeyStore } from '@sks/keystore';
import { dumpFileName } from './gen.js';
import { Progress } from './progress.js';

export interface DumpResult {
  files: string[];
  keys: number;
  bytes: number;
}

export function dumpStore(dbPath: string, outDir: string, keysPerFile: number, opts: { progress?: boolean } = {}): DumpResult {
  if (keysPerFile < 1) throw new Error('dump: keys per file must be positive');
  mkdirSync(outDir, { recursive: true });
  // Old dump files of ours would mix with the new ones: remove them first.
  for (const n of readdirSync(outDir)) if (/^sks-dump-\d{4,}\.pgp(\.tmp)?$/.test(n)) unlinkSync(join(outDir, n));
  // Two connections: one walks the digests (busy while iterating), the other reads each key.
  const walk = KeyStore.open(dbPath, { readonly: true });
  const read = KeyStore.open(dbPath, { readonly: true });
  const progress = new Progress('dump', process.stderr, { quiet: opts.progress === false });
  const result: DumpResult = { files: [], keys: 0, bytes: 0 };
  let fd = -1;
  let inFile = 0;
  let tmp = '';
  const finish = () => {
    if (fd < 0) return;
    closeSync(fd);
    renameSync(tmp, tmp.slice(0, -4));
    fd = -1;
  };
  try {
    walk.db.exec('BEGIN'); // one snapshot for the walk
    read.db.exec('BEGIN');
    for (const d of walk.digests()) {
      const key = read.getByDigest(d.toString('hex'));
      if (!key) continue;
      if (fd < 0 || inFile >= keysPerFile) {
        finish();
        const name = dumpFileName(result.files.length);
        result.files.push(name);
        tmp = join(outDir, `${name}.tmp`);
        fd = openSync(tmp, 'w');
        inFile = 0;
      }
      writeSync(fd, key.data);
      inFile++;
      result.keys++;
      result.bytes += key.data.length;
      if ((result.keys & 1023) === 0) progress.update({ keys: result.keys, bytes: result.bytes });
    }
    finish();
  } finally {
    if (fd >= 0) closeSync(fd);
    if (walk.db.inTransaction) walk.db.exec('COMMIT');
    if (read.db.inTransaction) read.db.exec('COMMIT');
    walk.close();
    read.close();
  }
  progress.done({ keys: result.keys, bytes: result.bytes });
  return result;
}
