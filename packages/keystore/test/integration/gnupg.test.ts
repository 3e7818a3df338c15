// The key store's OpenPGP reading against GnuPG itself (run here, so this is the integration tier): the recorded
// listing the fast tests compare with is what GnuPG says today, our descriptions of keys agree with GnuPG's, and
// GnuPG refuses the header forms we refuse. UPDATE_FIXTURES=1 records GnuPG's listing anew.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeKey, readPackets, splitKeys, writePackets, PacketError } from '../../src/index.js';
import { DEBIAN_KEYRING, keyBlocks, rawPackets, withHeaderForm } from '../../../../test/support/keyrings.js';
import { makeTempDir } from '../../../../test/support/tmp.js';
import { DEBIAN_LISTING_FIXTURE, debianKeyringAsGnupgListsIt, gpgKeys } from '../store-helpers.js';

const keyring = readFileSync(DEBIAN_KEYRING);
const keys = splitKeys(readPackets(keyring));

test('GnuPG lists Debian\'s keyring exactly as the recording the fast tests compare with', () => {
  const live = gpgKeys(DEBIAN_KEYRING);
  if (process.env.UPDATE_FIXTURES === '1') {
    const version = execFileSync('gpg', ['--version'], { encoding: 'utf8' }).split('\n')[0]!;
    const lines = live.map((k) => JSON.stringify(k));
    writeFileSync(DEBIAN_LISTING_FIXTURE, `{"gnupg":${JSON.stringify(version)},"keys":[\n${lines.join(',\n')}\n]}\n`);
  }
  assert.equal(live.length, 905);
  assert.deepEqual(debianKeyringAsGnupgListsIt(), live, 'GnuPG or the keyring changed (UPDATE_FIXTURES=1 records it)');
});

test('fingerprints, key IDs, algorithms, sizes and user IDs agree with GnuPG', () => {
  const home = mkdtempSync(join(tmpdir(), 'gpg-'));
  try {
    const sample = keys.slice(0, 60);
    const out = execFileSync('gpg', ['--homedir', home, '--batch', '--with-colons', '--fixed-list-mode', '--import-options', 'show-only', '--import'],
      { input: writePackets(sample.flat()), stdio: ['pipe', 'pipe', 'ignore'] }).toString();
    const gpgKeys: Array<{ fpr: string; keyid: string; algo: number; bits: number; uids: string[]; subs: string[] }> = [];
    let cur: (typeof gpgKeys)[number] | undefined;
    let inSub = false;
    for (const line of out.split('\n')) {
      const f = line.split(':');
      if (f[0] === 'pub') {
        cur = { fpr: '', keyid: f[4]!, algo: Number(f[3]), bits: Number(f[2]), uids: [], subs: [] };
        gpgKeys.push(cur);
        inSub = false;
      } else if (f[0] === 'sub') inSub = true;
      else if (f[0] === 'fpr' && cur) {
        if (inSub) cur.subs.push(f[9]!);
        else if (!cur.fpr) cur.fpr = f[9]!;
      } else if (f[0] === 'uid' && cur) cur.uids.push(f[9]!);
    }
    assert.equal(gpgKeys.length, sample.length);
    for (const [i, k] of sample.entries()) {
      const info = describeKey(k);
      const g = gpgKeys[i]!;
      assert.equal(info.fingerprint, g.fpr);
      assert.equal(info.keyId, g.keyid);
      assert.equal(info.algorithm, g.algo);
      assert.equal(info.bits, g.bits);
      assert.deepEqual(info.subkeys.map((s) => s.fingerprint).sort(), [...g.subs].sort());
      const ourUids = info.userIds.filter((u) => u.kind === 'uid').map((u) => u.text);
      for (const u of g.uids) {
        const unescaped = u.replace(/\\x([0-9a-f]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16)));
        assert.ok(ourUids.some((o) => o === unescaped || Buffer.from(o, 'utf8').toString('latin1') === unescaped), `uid ${u}`);
      }
    }
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});

test('GnuPG imports a key written with five-octet lengths and refuses partial and indeterminate lengths, as we do', () => {
  const block = keyBlocks(keyring)[1]!;
  const packets = rawPackets(block);
  const uid = packets.findIndex((p) => p.tag === 13);
  const variants = [
    { form: 'five-octet', data: withHeaderForm(block, 'five-octet'), gnupg: /imported: 1/ },
    { form: 'partial', data: withHeaderForm(block, 'partial', uid), gnupg: /partial length invalid for packet type 13/ },
    {
      form: 'indeterminate', data: withHeaderForm(block, 'indeterminate', packets.length - 1),
      gnupg: /indeterminate length for invalid packet type 2/,
    },
  ];
  for (const { form, data, gnupg } of variants) {
    const home = makeTempDir('gnupg-headers-');
    const r = spawnSync('gpg', ['--homedir', home, '--batch', '--import'], { input: data, encoding: 'utf8' });
    assert.match(r.stderr, gnupg, form);
    assert.equal(r.status === 0, form === 'five-octet', `${form}: gpg exit status ${r.status}`);
    if (form !== 'five-octet') assert.throws(() => readPackets(data), PacketError, form);
    else assert.equal(describeKey(readPackets(data)).fingerprint, describeKey(readPackets(block)).fingerprint);
  }
});
