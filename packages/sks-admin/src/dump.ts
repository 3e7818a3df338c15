// `sks-admin dump`: the store as SKS keydump files (the library's writeKeyDump), with progress on stderr.
import { KeyStore, writeKeyDump, type DumpResult } from '@sks/keystore';
import { Progress } from './progress.js';

export type { DumpResult };

export function dumpStore(dbPath: string, outDir: string, keysPerFile: number, opts: { progress?: boolean } = {}): DumpResult {
  const store = KeyStore.open(dbPath, { readonly: true });
  const progress = new Progress('dump', process.stderr, { quiet: opts.progress === false });
  try {
    const result = writeKeyDump(store, outDir, keysPerFile, (r) => progress.update(r));
    progress.done({ keys: result.keys, bytes: result.bytes });
    return result;
  } finally {
    store.close();
  }
}
