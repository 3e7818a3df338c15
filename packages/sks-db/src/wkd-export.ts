// Exports a static Web Key Directory for one domain from the store, for a plain web server to publish (the way
// Arch Linux publishes its packagers' keys): both layouts and the policy files,
//   <out>/.well-known/openpgpkey/<domain>/hu/<hash>   (advanced)
//   <out>/.well-known/openpgpkey/hu/<hash>            (direct)
// Each file holds the non-revoked keys with a user ID at that address, cut to the domain's user IDs.
import { mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { KeyStore } from '@sks/keystore';
import { emailOf, keyForDomain, wkdHash } from './wkd.js';

export interface WkdExportResult {
  addresses: number;
  keys: number;
  files: string[];
}

/** Writes the WKD tree for `domain` under `out`. `maxKeys` bounds the search of the store. */
export function exportWkd(store: KeyStore, domain: string, out: string, maxKeys = 1_000_000): WkdExportResult {
  const d = domain.toLowerCase();
  const byHash = new Map<string, Buffer[]>();
  const addresses = new Set<string>();
  let keyCount = 0;
  for (const key of store.searchText(d, maxKeys, false).keys) {
    const hashes = new Set<string>();
    for (const u of key.info.userIds) {
      const addr = u.kind === 'uid' && !u.revoked ? emailOf(u.text) : undefined;
      if (!addr || addr.slice(addr.lastIndexOf('@') + 1).toLowerCase() !== d) continue;
      hashes.add(wkdHash(addr.slice(0, addr.lastIndexOf('@'))));
      addresses.add(addr.toLowerCase());
    }
    let used = false;
    for (const h of hashes) {
      const cut = keyForDomain(key, d, h);
      if (!cut) continue;
      used = true;
      byHash.set(h, [...(byHash.get(h) ?? []), cut]);
    }
    if (used) keyCount++;
  }
  const adv = join(out, '.well-known/openpgpkey', d);
  const direct = join(out, '.well-known/openpgpkey');
  rmSync(join(adv, 'hu'), { recursive: true, force: true });
  rmSync(join(direct, 'hu'), { recursive: true, force: true });
  mkdirSync(join(adv, 'hu'), { recursive: true });
  mkdirSync(join(direct, 'hu'), { recursive: true });
  const files: string[] = [];
  writeFileSync(join(adv, 'policy'), '');
  writeFileSync(join(direct, 'policy'), '');
  for (const [h, keys] of byHash) {
    for (const dir of [adv, direct]) {
      const f = join(dir, 'hu', h);
      writeFileSync(f, Buffer.concat(keys));
      files.push(f);
    }
  }
  return { addresses: addresses.size, keys: keyCount, files };
}

/** CLI: sks-wkd-export --domain example.org --out DIR [--basedir DIR] */
export function wkdExportMain(argv: string[], dbPath: string): number {
  const arg = (n: string) => {
    const i = argv.indexOf(n);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const domain = arg('--domain');
  const out = arg('--out');
  if (!domain || !out) {
    console.error('usage: sks-db wkd-export --domain <domain> --out <dir> [--basedir <dir>]');
    return 2;
  }
  const store = KeyStore.open(dbPath, { readonly: true });
  try {
    const r = exportWkd(store, domain, out);
    console.log(`WKD for ${domain}: ${r.addresses} addresses, ${r.keys} keys, ${r.files.length} files under ${out}`);
    return 0;
  } finally {
    store.close();
  }
}
