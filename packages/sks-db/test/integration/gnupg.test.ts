// Real GnuPG 2.2 against our HKP service: --send-keys, --recv-keys by fingerprint and key ID, --search-keys by
// e-mail and name, and --refresh-keys picking up a change merged on the server.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startOurs, makeGpg, genKey, colonFingerprints, type Ours, type Gpg } from './helpers.js';

let ours: Ours;
let alice: Gpg;
let bob: Gpg;
let aliceFp: string;

before(async () => {
  ours = await startOurs();
  alice = makeGpg(`hkp://127.0.0.1:${ours.port}`);
  bob = makeGpg(`hkp://127.0.0.1:${ours.port}`);
  aliceFp = genKey(alice, 'Alice Liddell <alice@wonderland.example>');
});

after(async () => {
  alice?.cleanup();
  bob?.cleanup();
  await ours?.stop();
});

test('gpg --send-keys publishes a key', () => {
  const r = alice.run(['--send-keys', aliceFp]);
  assert.equal(r.status, 0, r.stderr);
});

test('gpg --recv-keys by fingerprint fetches it back', () => {
  const r = bob.run(['--recv-keys', aliceFp]);
  assert.equal(r.status, 0, r.stderr);
  const l = bob.run(['--with-colons', '--list-keys', aliceFp]);
  assert.deepEqual(colonFingerprints(l.stdout), [aliceFp]);
  assert.match(l.stdout, /Alice Liddell <alice@wonderland\.example>/);
});

test('gpg --recv-keys by long and short key ID', () => {
  for (const id of [aliceFp.slice(-16), aliceFp.slice(-8)]) {
    const fresh = makeGpg(`hkp://127.0.0.1:${ours.port}`);
    try {
      const r = fresh.run(['--recv-keys', `0x${id}`]);
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual(colonFingerprints(fresh.run(['--with-colons', '--list-keys']).stdout), [aliceFp]);
    } finally {
      fresh.cleanup();
    }
  }
});

test('gpg --search-keys by e-mail and by name lists the key', () => {
  for (const q of ['alice@wonderland.example', 'Liddell']) {
    const r = bob.run(['--with-colons', '--search-keys', q], '');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`pub:${aliceFp}:`), `search for ${q}: ${r.stdout}`);
    assert.match(r.stdout, /uid:Alice Liddell <alice@wonderland\.example>/);
  }
});

test('gpg --search-keys for nobody reports no match', () => {
  const r = bob.run(['--with-colons', '--search-keys', 'nobody-here@nowhere.example'], '');
  assert.doesNotMatch(r.stdout, /pub:/);
});

test('gpg --refresh-keys picks up a user ID added and merged on the server', () => {
  const add = alice.run(['--passphrase', '', '--pinentry-mode', 'loopback', '--quick-add-uid', aliceFp, 'Alice <alice@looking-glass.example>']);
  assert.equal(add.status, 0, add.stderr);
  assert.equal(alice.run(['--send-keys', aliceFp]).status, 0);
  const r = bob.run(['--refresh-keys']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(bob.run(['--with-colons', '--list-keys', aliceFp]).stdout, /alice@looking-glass\.example/);
});
