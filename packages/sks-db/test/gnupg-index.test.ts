// GnuPG's key search (`gpg --search-keys`: op=index&options=mr&search=..., in dirmngr's order) has a path of its own
// in the lookup front (lookup.ts gnupgIndex, server.ts wireReply): it must send exactly what the general path sends
// for the same request, for every address, name and key ID of Debian's keyring, refusals included, in the stored
// form and in the form a hockeypuck-profile server serves.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KeyStore, defaultSettings, policyFromSettings, readPackets, splitKeys } from '@sks/keystore';
import { frontAnswer, openContext } from '../src/server.js';
import { gnupgIndex } from '../src/lookup.js';
import { DEBIAN_KEYRING } from '../../../test/support/keyrings.js';
import { makeTempDir } from '../../../test/support/tmp.js';
import { gpgKeys } from '../../keystore/test/store-helpers.js';

const keyring = splitKeys(readPackets(readFileSync(DEBIAN_KEYRING)));
const gpg = gpgKeys(DEBIAN_KEYRING);

function serverOn(profiles: string[], settings: Record<string, unknown> = {}) {
  const basedir = makeTempDir('gnupg-index-');
  const store = KeyStore.open(join(basedir, 'keys.sqlite'), { policy: policyFromSettings({ ...defaultSettings(), recon_profiles: profiles }) });
  store.upsert(keyring, 'load');
  store.close();
  // caches off: every reply below is computed, none is a copy of an earlier one
  return openContext({ basedir, settings: { log_level: 'warn', lookup_cache_bytes: 0, recon_profiles: profiles, ...settings } });
}

/** The reply's bytes as the front would send them (its Date and Connection headers come later, alike for both). */
function sent(answer: ReturnType<typeof frontAnswer>, qs: string): { status: number; bytes: Buffer } {
  const r = answer(qs, 'GET');
  return { status: r.status, bytes: Buffer.concat([r.head, ...r.body]) };
}

/** Search terms GnuPG users type, in the spellings a client sends them. */
function searchesOf(k: (typeof gpg)[number]): string[] {
  const out = [`0x${k.keyId}`, `0x${k.keyId.slice(8)}`];
  for (const uid of k.uids) {
    const email = /<([^<>]+@[^<>]+)>/.exec(uid)?.[1];
    if (email) out.push(encodeURIComponent(email), encodeURIComponent(`<${email.toUpperCase()}>`), email);
    const word = /^[^\s<(]+/.exec(uid)?.[0];
    if (word) out.push(encodeURIComponent(word), `${encodeURIComponent(word)}+`);
  }
  return out;
}

for (const profiles of [['sks'], ['sks', 'hockeypuck']]) {
  test(`recon_profiles ${profiles.join(',')}: GnuPG's key search for every address, name and key ID is the general path's reply, byte for byte`, () => {
    const { ctx, close } = serverOn(profiles);
    try {
      const answer = frontAnswer(ctx);
      const statuses = new Map<number, number>();
      let fast = 0;
      for (const k of gpg) {
        for (const s of searchesOf(k)) {
          const a = sent(answer, `op=index&options=mr&search=${s}`);
          const b = sent(answer, `search=${s}&op=index&options=mr`);
          assert.equal(a.status, b.status, s);
          assert.ok(a.bytes.equals(b.bytes), `${s}: the two replies differ`);
          statuses.set(a.status, (statuses.get(a.status) ?? 0) + 1);
          if (a.status === 200 && gnupgIndex(ctx, `op=index&options=mr&search=${s}`)) fast++;
        }
      }
      assert.ok((statuses.get(200) ?? 0) > gpg.length, `found: ${JSON.stringify([...statuses])}`);
      // the stored form is answered from the summaries by the new path; the hockeypuck form by the general one
      if (profiles.length === 1) assert.equal(fast, statuses.get(200));
      else assert.equal(fast, 0);
    } finally {
      close();
    }
  });
}

test('refusals of GnuPG\'s key search are the general path\'s: nothing found, too many, a bad key ID, no term', () => {
  const { ctx, close } = serverOn(['sks'], { max_index_results: 3 });
  try {
    const answer = frontAnswer(ctx);
    const cases: Array<[string, number]> = [
      ['nobody%40nowhere.example', 404], ['debian', 413], ['0xZZZZ', 404], ['0x12345', 400], ['', 400], ['+++', 400],
    ];
    for (const [s, status] of cases) {
      const a = sent(answer, `op=index&options=mr&search=${s}`);
      const b = sent(answer, `options=mr&search=${s}&op=index`);
      assert.equal(a.status, status, s);
      assert.ok(a.bytes.equals(b.bytes), `${s}: the two refusals differ`);
    }
  } finally {
    close();
  }
});
