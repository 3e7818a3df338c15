// The verbose index (op=vindex) against GnuPG's reading of the same keys: the "key expir" column is the date GnuPG
// gives (a key-expiration subpacket counts from the key's creation, not from 1970), and every subkey is listed with
// its binding signatures, whose key expir is the subkey's expiry, in stored order.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEBIAN_KEYRING, keyBlocks } from '../../../../test/support/keyrings.js';
import { makeTempDir } from '../../../../test/support/tmp.js';
import { spawnSync } from 'node:child_process';
import { startOurs, withStore, type Ours } from './helpers.js';

interface GpgKey {
  keyId: string;
  /** GnuPG lists the primary user ID first. */
  firstUid?: string;
  expires: number | null;
  subkeys: Array<{ keyId: string; expires: number | null }>;
}

const day = (unix: number) => new Date(unix * 1000).toISOString().slice(0, 10);
let ours: Ours;
let keys: GpgKey[];

before(async () => {
  const blocks = keyBlocks(readFileSync(DEBIAN_KEYRING)).slice(0, 120);
  ours = await startOurs({ keys: blocks });
  const file = join(makeTempDir('vindex-'), 'keys.gpg');
  writeFileSync(file, Buffer.concat(blocks));
  {
    const home = makeTempDir('vindex-gpg-');
    const r = spawnSync('gpg', ['--homedir', home, '--batch', '--with-colons', '--fixed-list-mode', '--show-keys', file], { maxBuffer: 64 << 20 });
    const out = { status: r.status, stdout: r.stdout.toString('utf8'), stderr: r.stderr.toString('utf8') };
    assert.equal(out.status, 0, out.stderr);
    keys = [];
    for (const line of out.stdout.split('\n')) {
      const f = line.split(':');
      const expires = f[6] ? Number(f[6]) : null;
      if (f[0] === 'pub') keys.push({ keyId: f[4]!, expires, subkeys: [] });
      else if (f[0] === 'sub') keys.at(-1)!.subkeys.push({ keyId: f[4]!, expires });
      else if (f[0] === 'uid' && keys.at(-1)!.firstUid === undefined) {
        keys.at(-1)!.firstUid = f[9]!.replace(/\\x([0-9a-f]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
      }
    }
  }
});

after(async () => {
  await ours?.stop();
});

/** vindex lines of one key, without tags. */
async function vindex(keyId: string): Promise<string[]> {
  const html = await (await fetch(`${ours.url}/pks/lookup?op=vindex&search=0x${keyId}`)).text();
  return html.replace(/<[^>]+>/g, '').split(/\r?\n/);
}

test('key expir is the expiry GnuPG reads, for primary keys and subkeys; every subkey shows its bindings', async () => {
  let primaries = 0;
  let subs = 0;
  for (const k of keys) {
    const lines = await vindex(k.keyId);
    // key expir is the third date column of a sig line: sig <type> <keyid> <created> <sig expir> <key expir> <uid>
    for (const l of lines.filter((x) => x.startsWith('sig '))) {
      const dates = l.match(/\d{4}-\d{2}-\d{2}|_{10}/g) ?? [];
      assert.ok(!/^19[67]\d/.test(dates[2] ?? ''), `a key expiry counted from 1970 in ${k.keyId}: ${l}`);
    }
    if (k.expires !== null) {
      primaries++;
      assert.ok(lines.some((l) => /^sig\s/.test(l) && l.includes('[selfsig]') && l.includes(` ${day(k.expires!)} `)),
        `0x${k.keyId}: GnuPG says the key expires ${day(k.expires)}`);
    }
    for (const sk of k.subkeys) {
      const at = lines.findIndex((l) => l.startsWith('sub ') && l.includes(sk.keyId.slice(-8)));
      assert.ok(at >= 0, `0x${k.keyId}: subkey ${sk.keyId} listed`);
      const sigs: string[] = [];
      for (let i = at + 1; i < lines.length && lines[i]!.startsWith('sig '); i++) sigs.push(lines[i]!);
      assert.ok(sigs.some((l) => /^sig sbind/.test(l)), `0x${k.keyId}: subkey ${sk.keyId} has its binding signature listed`);
      if (sk.expires !== null) {
        subs++;
        assert.ok(sigs.some((l) => /^sig sbind/.test(l) && l.includes(` ${day(sk.expires!)} `)),
          `0x${k.keyId}: GnuPG says subkey ${sk.keyId} expires ${day(sk.expires)}:\n${sigs.join('\n')}`);
      }
    }
  }
  assert.ok(primaries > 5 && subs > 5, `enough keys with an expiry were checked (${primaries} primary, ${subs} subkeys)`);
});

test('multi-key answers list keys newest first, as SKS does (mr and HTML index, op=get read back by GnuPG)', async () => {
  const mr = await (await fetch(`${ours.url}/pks/lookup?op=index&options=mr&search=debian`)).text();
  const created = mr.split('\n').filter((l) => l.startsWith('pub:')).map((l) => Number(l.split(':')[4]));
  assert.ok(created.length > 20, `${created.length} keys`);
  assert.deepEqual(created, [...created].sort((a, b) => b - a), 'mr index newest first');
  const html = (await (await fetch(`${ours.url}/pks/lookup?op=index&search=debian`)).text()).replace(/<[^>]+>/g, '');
  const htmlDays = [...html.matchAll(/^pub\s+\S+ (\d{4}-\d{2}-\d{2})/gm)].map((m) => m[1]!);
  assert.deepEqual(htmlDays, created.map(day), 'HTML index in the same order');
  // op=get of a word in a handful of keys, read back by GnuPG in the order the answer holds them.
  const res = await fetch(`${ours.url}/pks/lookup?op=get&search=gmail`);
  assert.equal(res.status, 200);
  const file = join(makeTempDir('vindex-get-'), 'answer.asc');
  writeFileSync(file, await res.text());
  const r = spawnSync('gpg', ['--homedir', makeTempDir('vindex-gpg-'), '--batch', '--with-colons', '--fixed-list-mode', '--show-keys', file]);
  const got = r.stdout.toString('utf8').split('\n').filter((l) => l.startsWith('pub:')).map((l) => Number(l.split(':')[5]));
  assert.ok(got.length >= 2, `${got.length} keys in the op=get answer`);
  assert.deepEqual(got, [...got].sort((a, b) => b - a), 'op=get newest first');
});

test('the short listing shows the primary user ID first, the one GnuPG lists first', async () => {
  let checked = 0;
  for (const k of keys) {
    const flagged = withStore(ours.dbPath, (st) => st.findByKeyId(k.keyId)[0]?.info.userIds.some((u) => u.primary) ?? false);
    if (!flagged || k.firstUid === undefined) continue;
    const html = await (await fetch(`${ours.url}/pks/lookup?op=index&search=0x${k.keyId}`)).text();
    const first = /^pub\s+\S+ \d{4}-\d{2}-\d{2} (.*)$/m.exec(html.replace(/<[^>]+>/g, ''))?.[1];
    const decode = (x: string) => x.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#x27;/g, "'").replace(/&#x2F;/g, '/').replace(/&amp;/g, '&');
    assert.equal(decode(first ?? ''), k.firstUid, `0x${k.keyId}`);
    checked++;
  }
  assert.ok(checked > 10, `${checked} keys with a flagged primary user ID checked`);
});


test('op=get of a word in more than a hundred keys returns them all, as SKS does (up to its 500)', async () => {
  const mr = await (await fetch(`${ours.url}/pks/lookup?op=index&options=mr&search=debian`)).text();
  const matching = mr.split('\n').filter((l) => l.startsWith('pub:')).length;
  assert.ok(matching > 100, `${matching} keys hold the word`);
  const res = await fetch(`${ours.url}/pks/lookup?op=get&search=debian`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('x-hkp-results-count'), String(matching));
  const file = join(makeTempDir('vindex-get-all-'), 'answer.asc');
  writeFileSync(file, await res.text());
  const r = spawnSync('gpg', ['--homedir', makeTempDir('vindex-gpg-'), '--batch', '--with-colons', '--show-keys', file], { maxBuffer: 64 << 20 });
  assert.equal(r.stdout.toString('utf8').split('\n').filter((l) => l.startsWith('pub:')).length, matching, 'GnuPG reads every key');
});
