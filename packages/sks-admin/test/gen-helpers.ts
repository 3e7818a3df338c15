// Shared by the generator's tests: the parameters of the two dumps they check, and a dump's key blocks.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { GenParams } from '../src/gen.js';
import { keyBlocks } from '../../../test/support/keyrings.js';

/** The default profile: v4 and v6 keys, split copies, one flooded key. */
export const PARAMS: GenParams = { keys: 240, seed: 'gen-test', flooded: 1, floodCerts: 300, dups: 12, keysPerFile: 100 };

/** The public profile (keys shaped like the public SKS keydump). */
export const PUBLIC: GenParams = {
  keys: 400, seed: 'gen-public-test', flooded: 0, floodCerts: 0, dups: 0, keysPerFile: 150, profile: 'public',
};

/** Every key block of a dump folder's files, in file order. */
export function readDump(dir: string): Buffer[] {
  return readdirSync(dir).filter((n) => n.endsWith('.pgp')).sort().flatMap((n) => keyBlocks(readFileSync(join(dir, n))));
}
