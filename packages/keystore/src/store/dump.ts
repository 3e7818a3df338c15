// The store as SKS keydump files: sks-dump-0000.pgp, ... with `keysPerFile` binary keys each (the bytes served for
// each key), in digest order, from one snapshot. Files are written under a temporary name and renamed, so a reader
// never sees half a file. Used by `sks-admin dump` and sks-cron's periodic dump.
import { closeSync, mkdirSync, openSync, readdirSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { KeyDumpSource } from './contract.js';

export interface DumpResult {
  files: string[];
  keys: number;
  bytes: number;
}

/** SKS's name of the n-th dump file. */
export function dumpFileName(n: number): string {
  return `sks-dump-${String(n).padStart(4, '0')}.pgp`;
}

/** Writes every stored key into `outDir`, replacing dump files of an earlier run there. `onProgress` is called
 * every 1024 keys. */
export function writeKeyDump(store: KeyDumpSource, outDir: string, keysPerFile: number,
  onProgress?: (r: { keys: number; bytes: number }) => void): DumpResult {
  if (keysPerFile < 1) throw new Error('dump: keys per file must be positive');
  mkdirSync(outDir, { recursive: true });
  // Old dump files of ours would mix with the new ones: remove them first.
  for (const n of readdirSync(outDir)) if (/^sks-dump-\d{4,}\.pgp(\.tmp)?$/.test(n)) unlinkSync(join(outDir, n));
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
    for (const data of store.keysInDigestOrder()) {
      if (fd < 0 || inFile >= keysPerFile) {
        finish();
        const name = dumpFileName(result.files.length);
        result.files.push(name);
        tmp = join(outDir, `${name}.tmp`);
        fd = openSync(tmp, 'w');
        inFile = 0;
      }
      writeSync(fd, data);
      inFile++;
      result.keys++;
      result.bytes += data.length;
      if ((result.keys & 1023) === 0) onProgress?.({ keys: result.keys, bytes: result.bytes });
    }
    finish();
  } finally {
    if (fd >= 0) closeSync(fd);
  }
  return result;
}
