// GnuPG's op=get by fingerprint has a path of its own in the lookup front (lookup.ts gnupgGetKey, server.ts
// wireReply): it must send exactly what the general path sends for the same request, for every key of Debian's
// keyring, in the stored form and in the form a hockeypuck-profile server serves, and leave everything it does not
// find to the general path.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KeyStore, defaultSettings, policyFromSettings, readPackets, splitKeys } from '@sks/keystore';
import { frontAnswer, openContext } from '../src/server.js';
import { gnupgGetKey } from '../src/lookup.js';
import { DEBIAN_KEYRING } from '../../../test/support/keyrings.js';
import { makeTempDir } from '../../../test/support/tmp.js';
import { gpgKeys } from '../../keystore/test/store-helpers.js';

const keyring = splitKeys(readPackets(readFileSync(DEBIAN_KEYRING)));
const gpg = gpgKeys(DEBIAN_KEYRING);

function serverOn(profiles: string[]) {
  const basedir = makeTempDir('gnupg-get-');
  const store = KeyStore.open(join(basedir, 'keys.sqlite'), { policy: policyFromSettings({ ...defaultSettings(), recon_profiles: profiles }) });
  store.upsert(keyring, 'load');
  store.close();
  // caches off: every reply below is computed, none is a copy of an earlier one
  return openContext({ basedir, settings: { log_level: 'warn', lookup_cache_bytes: 0, recon_profiles: profiles } });
}

/** The reply's bytes as the front would send them (its Date and Connection headers come later, alike for both). */
function sent(answer: ReturnType<typeof frontAnswer>, qs: string): { status: number; bytes: Buffer } {
  const r = answer(qs, 'GET');
  return { status: r.status, bytes: Buffer.concat([r.head, ...r.body]) };
}

for (const profiles of [['sks'], ['sks', 'hockeypuck']]) {
  test(`recon_profiles ${profiles.join(',')}: GnuPG's op=get by each primary fingerprint is the general path's reply, byte for byte`, () => {
    const { ctx, close } = serverOn(profiles);
    try {
      const answer = frontAnswer(ctx);
      let found = 0;
      for (const k of gpg) {
        // GnuPG's spelling takes the new path; the same request with its fields in another order takes the general one
        const gnupg = `op=get&options=mr&search=0x${k.fingerprint}`;
        const general = `search=0x${k.fingerprint}&op=get&options=mr`;
        const fast = gnupgGetKey(ctx, gnupg);
        const a = sent(answer, gnupg);
        const b = sent(answer, general);
        assert.equal(a.status, b.status, k.fingerprint);
        assert.ok(a.bytes.equals(b.bytes), `${k.fingerprint}: the two replies differ`);
        if (a.status === 200) {
          found++;
          assert.ok(fast, `${k.fingerprint} was found, but not by the new path`);
        } else {
          // a key the served profile refuses is not found by either path
          assert.equal(a.status, 404);
          assert.equal(fast, undefined);
        }
        // lower-case hex is the same request
        assert.ok(sent(answer, gnupg.toLowerCase()).bytes.equals(a.bytes));
      }
      if (profiles.length === 1) assert.equal(found, gpg.length, 'every key of the keyring is served in its stored form');
      else assert.ok(found > gpg.length / 2, `only ${found} of ${gpg.length} keys served in the hockeypuck form`);
    } finally {
      close();
    }
  });
}

test('a subkey\'s fingerprint and an unknown one are left to the general path, which finds the key or answers 404', () => {
  const { ctx, close } = serverOn(['sks']);
  try {
    const answer = frontAnswer(ctx);
    const withSubkey = gpg.find((k) => k.subkeys.length > 0 && k.subkeys[0]!.fingerprint.length === 40)!;
    const bySubkey = `op=get&options=mr&search=0x${withSubkey.subkeys[0]!.fingerprint}`;
    assert.equal(gnupgGetKey(ctx, bySubkey), undefined);
    const viaSubkey = sent(answer, bySubkey);
    assert.equal(viaSubkey.status, 200);
    assert.ok(viaSubkey.bytes.equals(sent(answer, `op=get&options=mr&search=0x${withSubkey.fingerprint}`).bytes), 'the subkey finds its primary key');
    const unknown = `op=get&options=mr&search=0x${'AB'.repeat(20)}`;
    assert.equal(gnupgGetKey(ctx, unknown), undefined);
    const missing = sent(answer, unknown);
    assert.equal(missing.status, 404);
    assert.ok(missing.bytes.equals(sent(answer, `search=0x${'AB'.repeat(20)}&op=get&options=mr`).bytes));
  } finally {
    close();
  }
});
