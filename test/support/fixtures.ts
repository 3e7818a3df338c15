// Recorded data the tests compare against (test/fixtures/, each folder with a README on where it came from), found
// relative to this file so the tests run from any checkout.
import { fileURLToPath } from 'node:url';

/** Absolute path of `rel` inside test/fixtures/. */
export function fixturePath(rel: string): string {
  return fileURLToPath(new URL(`../fixtures/${rel}`, import.meta.url));
}

/** The folders of recorded recon data (see test/fixtures/recon/README.md). */
export const RECON_VECTORS = fixturePath('recon/vectors');
export const RECON_CAPTURES = fixturePath('recon/captures');
