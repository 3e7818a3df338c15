// Shared by sks-cron's tests: a base directory whose store holds real keys, and a job context that logs to files only.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KeyStore, createLogger } from '@sks/keystore';
import { cronContext } from '../src/index.js';
import { makeTempDir } from '../../../test/support/tmp.js';
import { DEBIAN_KEYRING, keyBlocks } from '../../../test/support/keyrings.js';

process.env.SKS_QUIET = '1';
export const KEYS = keyBlocks(readFileSync(DEBIAN_KEYRING)).slice(0, 40);

/** A base directory whose store holds the first 40 debian-keyring keys; returns their fingerprints. */
export function basedirWithKeys(sksconf = ''): { basedir: string; fingerprints: string[] } {
  const basedir = makeTempDir('cron-jobs-');
  writeFileSync(join(basedir, 'sksconf'), sksconf);
  const store = KeyStore.open(join(basedir, 'keys.sqlite'));
  const fingerprints = KEYS.map((k) => store.upsertMaterial(k, 'load')[0]!.fingerprint!);
  store.close();
  return { basedir, fingerprints };
}

export function quietContext(basedir: string) {
  return cronContext({ basedir, logger: createLogger({ service: 'sks-cron', dir: join(basedir, 'log'), console: false }) });
}
