// Exports a static Web Key Directory for one domain from the store, for a plain web server to publish (the way
// Arch Linux publishes its packagers' keys): both layouts and the policy files,
//   <out>/.well-known/openpgpkey/<domain>/hu/<hash>   (advanced)
//   <out>/.well-known/openpgpkey/hu/<hash>            (direct)
// Each file holds the non-revoked keys with a user ID at that address, cut to the domain's user IDs.
import { mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { KeyStore, checkDomain } from '@sks/keystore';
import { keyForDomain, wkdHash } from './wkd.js';

export interface WkdExportResult {
  addresses: number;
  keys: number;
  files: string[];
}

/** Writes the WKD tree for `domain` under `out`: every address stored at the domain (see KeyReader.addressesAtDomain), the
 * keys holding each, cut to the domain's user IDs. `maxKeysPerAddress` bounds the keys read for one address, as
 * max_index_results bounds them for the server's WKD answers. */
export function exportWkd(store: KeyStore, domain: string, out: string, maxKeysPerAddress: number): WkdExportResult {
  const d = checkDomain(domain);
  const byHash = new Map<string, Map<string, Buffer>>();
  const addresses = new Set<string>();
  const keys = new Set<string>();
  for (const address of store.addressesAtDomain(d)) {
    const h = wkdHash(address.slice(0, address.lastIndexOf('@')));
    for (const key of store.searchText(address, maxKeysPerAddress).keys) {
      const cut = keyForDomain(key, d, h);
      if (!cut) continue; // revoked, or the address is on a revoked user ID only
      addresses.add(address);
      keys.add(key.fingerprint);
      let files = byHash.get(h);
      if (!files) byHash.set(h, (files = new Map()));
      files.set(key.fingerprint, cut);
    }
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
  for (const [h, cuts] of byHash) {
    for (const dir of [adv, direct]) {
      const f = join(dir, 'hu', h);
      writeFileSync(f, Buffer.concat([...cuts.values()]));
      files.push(f);
    }
  }
  return { addresses: addresses.size, keys: keys.size, files };
}

/** CLI: sks-db wkd-export --domain example.org --out DIR [--basedir DIR] (arguments read by main.ts) */
export function wkdExportMain(args: { domain?: string; out?: string }, dbPath: string, maxKeysPerAddress: number): number {
  const { domain, out } = args;
  if (!domain || !out) {
    console.error('usage: sks-db wkd-export --domain <domain> --out <dir> [--basedir <dir>]');
    return 2;
  }
  try {
    checkDomain(domain);
  } catch (err) {
    console.error(`sks-db wkd-export: ${(err as Error).message}`);
    return 2;
  }
  const store = KeyStore.open(dbPath, { readonly: true });
  try {
    const r = exportWkd(store, domain, out, maxKeysPerAddress);
    console.log(`WKD for ${domain}: ${r.addresses} addresses, ${r.keys} keys, ${r.files.length} files under ${out}`);
    return 0;
  } finally {
    store.close();
  }
}
