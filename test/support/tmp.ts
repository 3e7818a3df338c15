// Temporary directories for tests, removed when the test process exits (KEEP_TMP=1 keeps them for debugging).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const made: string[] = [];
let hooked = false;

export function makeTempDir(prefix = 'sks-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  if (!hooked) {
    hooked = true;
    process.on('exit', () => {
      if (process.env.KEEP_TMP === '1') return;
      for (const d of made) rmSync(d, { recursive: true, force: true });
    });
  }
  return dir;
}
