// Recorded data the tests compare against (test/fixtures/, each folder with a README on where it came from), found
// relative to this file so the tests run from any checkout.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Absolute path of `rel` inside test/fixtures/. */
export function fixturePath(rel: string): string {
  return fileURLToPath(new URL(`../fixtures/${rel}`, import.meta.url));
}

/** The folders of recorded recon data (see test/fixtures/recon/README.md). */
export const RECON_VECTORS = fixturePath('recon/vectors');
export const RECON_CAPTURES = fixturePath('recon/captures');

/** SKS 1.1.6's digest of each key of Debian's keyring (vectors/debian-keyring-sks-digests.json), in file order. */
export function sksDigestVectors(): Array<{ fingerprint: string; sks_hash: string }> {
  const file = join(RECON_VECTORS, 'debian-keyring-sks-digests.json');
  return (JSON.parse(readFileSync(file, 'utf8')) as { vectors: Array<{ fingerprint: string; sks_hash: string }> }).vectors;
}
