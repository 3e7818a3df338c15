// Shared by the store tests: what independent tools (GnuPG, SKS 1.1.6, a raw packet splitter) say about the keys of
// Debian's keyring, so the tests never take expected values from the code they test. GnuPG's and SKS's answers for
// the whole keyring are recordings (test/fixtures/), checked against the tools themselves in the integration tier.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rawPackets } from '../../../test/support/keyrings.js';
import { fixturePath, sksDigestVectors } from '../../../test/support/fixtures.js';
import { prepareKey, storedForm, type PreparedBlock } from '../src/store/keystore.js';
import type { Packet } from '../src/openpgp/types.js';
import type { Policy } from '../src/policy.js';

/** fingerprint (upper hex) -> SKS 1.1.6's digest of that key built from debian-keyring.gpg alone. */
export function sksDigests(): Map<string, string> {
  return new Map(sksDigestVectors().map((x) => [x.fingerprint.toUpperCase(), x.sks_hash.toLowerCase()]));
}

export interface GpgKey {
  fingerprint: string;
  keyId: string;
  subkeys: Array<{ fingerprint: string; keyId: string }>;
  uids: string[];
}

/** GnuPG's view of every key in a keyring file (`gpg --show-keys --with-colons`), in file order. */
export function gpgKeys(file: string): GpgKey[] {
  const home = mkdtempSync(join(tmpdir(), 'store-gpg-'));
  try {
    const out = execFileSync('gpg', ['--homedir', home, '--batch', '--with-colons', '--fixed-list-mode', '--show-keys', file], {
      encoding: 'latin1', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 64 << 20,
    });
    const keys: GpgKey[] = [];
    let last: 'pub' | 'sub' | undefined;
    let keyId = '';
    for (const line of out.split('\n')) {
      const f = line.split(':');
      if (f[0] === 'pub') {
        keys.push({ fingerprint: '', keyId: f[4]!, subkeys: [], uids: [] });
        last = 'pub';
      } else if (f[0] === 'sub') {
        keyId = f[4]!;
        last = 'sub';
      } else if (f[0] === 'fpr' && last) {
        const k = keys[keys.length - 1]!;
        if (last === 'pub') k.fingerprint = f[9]!;
        else k.subkeys.push({ fingerprint: f[9]!, keyId });
        last = undefined;
      } else if (f[0] === 'uid') {
        const text = Buffer.from(f[9]!.replace(/\\x([0-9a-f]{2})/gi, (_m, h: string) => String.fromCharCode(parseInt(h, 16))), 'latin1')
          .toString('utf8');
        keys[keys.length - 1]!.uids.push(text);
      }
    }
    return keys;
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

/** GnuPG's listing of Debian's keyring (gpgKeys(DEBIAN_KEYRING)) as recorded in test/fixtures/gnupg, so the fast
 * tests compare with it without running GnuPG; an integration test checks the recording against GnuPG itself. */
export const DEBIAN_LISTING_FIXTURE = fixturePath('gnupg/debian-keyring-listing.json');

export function debianKeyringAsGnupgListsIt(): GpgKey[] {
  return (JSON.parse(readFileSync(DEBIAN_LISTING_FIXTURE, 'utf8')) as { keys: GpgKey[] }).keys;
}

/** Splits a key block into two copies of the same key: the primary with its first user ID (and what precedes it),
 * and the primary with everything after. Undefined when the key has fewer than two user IDs/subkeys. */
export function splitCopies(block: Buffer): [Buffer, Buffer] | undefined {
  const pk = rawPackets(block);
  const groupStarts = pk.map((p, i) => (p.tag === 13 || p.tag === 14 || p.tag === 17 ? i : -1)).filter((i) => i > 0);
  if (groupStarts.length < 2) return undefined;
  const cut = groupStarts[1]!;
  const a = Buffer.concat(pk.slice(0, cut).map((p) => p.bytes));
  const b = Buffer.concat([pk[0]!.bytes, ...pk.slice(cut).map((p) => p.bytes)]);
  return [a, b];
}

/** Key blocks prepared as the loader's worker threads send them: each key's stored form instead of its description,
 * one block per group. */
export function preparedAsLoaderThreadsSend(groups: Packet[][], policy: Policy): PreparedBlock[][] {
  return groups.map((g) => {
    const r = prepareKey(g, policy);
    if (r.ok) {
      r.key.stored = storedForm(r.key.info!, r.key.packets!, r.key.data);
      delete r.key.info;
      delete r.key.packets;
    }
    return [r];
  });
}
