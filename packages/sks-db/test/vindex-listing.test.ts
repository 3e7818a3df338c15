// op=vindex is written from a key's stored listing when the store keeps one (lookup.ts listingOf): the page must be
// the one the key's description makes (the general path, taken for exact= searches), byte for byte, for every key of
// Debian's keyring, with and without the options that change links, in the stored form and in the form a
// hockeypuck-profile server serves (whose keys the stored listings do not describe).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { KeyStore, defaultSettings, policyFromSettings, readPackets, splitKeys } from '@sks/keystore';
import { frontAnswer, openContext } from '../src/server.js';
import { DEBIAN_KEYRING } from '../../../test/support/keyrings.js';
import { makeTempDir } from '../../../test/support/tmp.js';
import { gpgKeys } from '../../keystore/test/store-helpers.js';

const keyring = splitKeys(readPackets(readFileSync(DEBIAN_KEYRING)));
const gpg = gpgKeys(DEBIAN_KEYRING);

function storeOn(profiles: string[]): string {
  const basedir = makeTempDir('vindex-listing-');
  const store = KeyStore.open(join(basedir, 'keys.sqlite'), { policy: policyFromSettings({ ...defaultSettings(), recon_profiles: profiles }) });
  store.upsert(keyring, 'load');
  store.close();
  return basedir;
}

function serve(basedir: string, profiles: string[]) {
  // caches off: every page below is computed, none is a copy of an earlier one
  return openContext({ basedir, settings: { log_level: 'warn', lookup_cache_bytes: 0, recon_profiles: profiles } });
}

function page(answer: ReturnType<typeof frontAnswer>, qs: string): { status: number; bytes: Buffer } {
  const r = answer(qs, 'GET');
  return { status: r.status, bytes: Buffer.concat([r.head, ...r.body]) };
}

for (const profiles of [['sks'], ['sks', 'hockeypuck']]) {
  test(`recon_profiles ${profiles.join(',')}: each key's vindex from its stored listing is the page its description makes`, () => {
    const basedir = storeOn(profiles);
    const { ctx, close } = serve(basedir, profiles);
    try {
      const answer = frontAnswer(ctx);
      let fromListing = 0;
      for (const k of gpg) {
        if (ctx.store.listingByFingerprint(k.fingerprint)) fromListing++;
        // lower-case hex too: the page shows the key's fingerprint, not the search's spelling of it
        for (const [opts, fpr] of [['', k.fingerprint], ['&fingerprint=on&hash=on', k.fingerprint], ['&fingerprint=on', k.fingerprint.toLowerCase()]]) {
          const stored = page(answer, `op=vindex${opts}&search=0x${fpr}`);
          const described = page(answer, `op=vindex${opts}&search=0x${fpr}&exact=on`);
          assert.equal(stored.status, described.status, k.fingerprint);
          assert.ok(stored.bytes.equals(described.bytes), `${k.fingerprint}${opts}: the two pages differ`);
        }
      }
      // the stored form has listings for the keys of many signatures; a served profile's form uses none
      if (profiles.length === 1) assert.ok(fromListing > 100, `${fromListing} keys read from a stored listing`);
      else assert.equal(fromListing, 0);
    } finally {
      close();
    }
  });
}

test('the page is written from the stored listing\'s page itself, not from the key', async () => {
  const basedir = storeOn(['sks']);
  const file = join(basedir, 'keys.sqlite');
  const { ctx, close } = serve(basedir, ['sks']);
  try {
    const k = gpg.find((g) => ctx.store.listingByFingerprint(g.fingerprint))!;
    const answer = frontAnswer(ctx);
    const before = page(answer, `op=vindex&search=0x${k.fingerprint}`).bytes.toString('utf8');
    // a marker appended to the stored page (as another process's write would change it) shows on the page
    const db = new Database(file);
    db.prepare("UPDATE key_listings SET page = CAST(page || '\r\nMARKER-LINE' AS BLOB) WHERE key = (SELECT id FROM keys WHERE fingerprint = ?)")
      .run(Buffer.from(k.fingerprint, 'hex')).changes === 1 || assert.fail('no listing row changed');
    db.close();
    // reads share one snapshot per turn of the event loop (openContext): the change shows from the next turn on
    await new Promise((resolve) => setTimeout(resolve, 20));
    const after = page(answer, `op=vindex&search=0x${k.fingerprint}`).bytes.toString('utf8');
    assert.ok(!before.includes('MARKER-LINE'));
    assert.ok(after.includes('\r\nMARKER-LINE\r\n</pre>'), 'the stored page is what the page shows');
    const withOptions = page(answer, `op=vindex&search=0x${k.fingerprint}&fingerprint=on&hash=on`).bytes.toString('utf8');
    assert.ok(withOptions.includes('\r\nMARKER-LINE\r\n</pre>'), 'with link options too');
  } finally {
    close();
  }
});
