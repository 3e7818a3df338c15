// The same answers as SKS 1.1.6 for the 905 keys of debian-keyring: op=get gives the same key bytes for every
// fingerprint; mr index lines carry the same fields for every fingerprint and for e-mail searches. /pks/add takes
// and refuses the same packet-header forms.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as openpgp from 'openpgp';
import { DEBIAN_KEYRING, rawPackets, withHeaderForm } from '../../../../test/support/keyrings.js';
import { startSks, type Sks } from '../../../../test/support/sks.js';
import { makeTempDir } from '../../../../test/support/tmp.js';
import { startOurs, eachConcurrently, dearmorAll, colonFingerprints, type Ours } from './helpers.js';

let sks: Sks;
let ours: Ours;
let fingerprints: string[];

/** Primary fingerprints of the keyring, as GnuPG reads them (independent of our code). */
function keyringFingerprints(): string[] {
  const home = makeTempDir('compat-gpg-');
  const r = spawnSync('gpg', ['--homedir', home, '--batch', '--with-colons', '--show-keys', DEBIAN_KEYRING], { maxBuffer: 256 << 20 });
  spawnSync('gpgconf', ['--homedir', home, '--kill', 'all']);
  return [...new Set(colonFingerprints(r.stdout.toString()))];
}

async function text(url: string): Promise<{ status: number; body: string }> {
  const res = await fetch(url);
  return { status: res.status, body: await res.text() };
}

before(async () => {
  fingerprints = keyringFingerprints();
  [sks, ours] = await Promise.all([startSks({ keyFiles: [DEBIAN_KEYRING], gossip: false }), startOurs({ keyFiles: [DEBIAN_KEYRING] })]);
});

after(async () => {
  await Promise.all([sks?.stop(), ours?.stop()]);
});

test('op=get returns the same key bytes as SKS for every fingerprint of debian-keyring', async () => {
  assert.ok(fingerprints.length > 800, `only ${fingerprints.length} fingerprints`);
  const differ: string[] = [];
  await eachConcurrently(fingerprints, async (fp) => {
    const q = `/pks/lookup?op=get&options=mr&search=0x${fp}`;
    const [a, b] = await Promise.all([text(ours.url + q), text(sks.hkpUrl + q)]);
    if (b.status !== 200) return; // SKS's cleandb dropped it; then we must not be asked to match
    assert.equal(a.status, 200, `ours has no key for ${fp}`);
    if (!dearmorAll(a.body).equals(dearmorAll(b.body))) differ.push(fp);
  });
  assert.deepEqual(differ, [], `${differ.length} keys differ from SKS`);
});

/** mr lines minus the `info:` header, with the uid line's dates split off for a precise message. */
function mrLines(body: string): string[] {
  return body.split(/\r?\n/).filter((l) => /^(pub|uid|uat):/.test(l));
}

test('mr index lines equal SKS for every fingerprint', async () => {
  const differ: Array<{ fp: string; ours: string[]; sks: string[] }> = [];
  await eachConcurrently(fingerprints, async (fp) => {
    const q = `/pks/lookup?op=index&options=mr&search=0x${fp}`;
    const [a, b] = await Promise.all([text(ours.url + q), text(sks.hkpUrl + q)]);
    if (b.status !== 200) return;
    const la = mrLines(a.body);
    const lb = mrLines(b.body);
    if (la.join('\n') !== lb.join('\n')) differ.push({ fp, ours: la, sks: lb });
  });
  assert.deepEqual(differ.slice(0, 3), [], `${differ.length} keys list differently`);
});

test('mr index by e-mail: the keys SKS lists that hold that address, with the same lines', async () => {
  // Addresses as SKS lists them, so the sample does not come from our code.
  const emails = new Set<string>();
  for (const fp of fingerprints.slice(0, 200).filter((_, i) => i % 5 === 0)) {
    const b = await text(`${sks.hkpUrl}/pks/lookup?op=index&options=mr&search=0x${fp}`);
    const m = /uid:[^\n]*?<([^<>%\s]+@[^<>%\s]+)>/.exec(b.body);
    if (m) emails.add(m[1]!);
  }
  assert.ok(emails.size >= 20, `only ${emails.size} addresses`);
  let looser = 0;
  for (const email of emails) {
    const q = `/pks/lookup?op=index&options=mr&search=${encodeURIComponent(email)}`;
    const [a, b] = await Promise.all([text(ours.url + q), text(sks.hkpUrl + q)]);
    assert.equal(a.status, 200, email);
    const blocks = (body: string) => body.split(/\n(?=pub:)/).filter((s) => s.startsWith('pub:')).map((s) => mrLines(s).join('\n')).sort();
    // SKS searches the words of the address ("sebastien", "debian", "org"), so it also lists other people's keys;
    // we list the keys with a user ID at exactly that address: SKS's answer minus those others.
    const holders = blocks(b.body).filter((blk) => blk.toLowerCase().includes(`<${email.toLowerCase()}>`));
    if (holders.length < blocks(b.body).length) looser++;
    assert.ok(holders.length > 0, email);
    assert.deepEqual(blocks(a.body), holders, email);
  }
  assert.ok(looser < emails.size, 'most addresses give SKS and us the same answer');
});

test('/pks/add: SKS and we refuse a key with a partial body length, and both take it with five-octet lengths', async () => {
  const { publicKey } = await openpgp.generateKey({
    type: 'ecc', curve: 'curve25519Legacy', format: 'binary',
    userIDs: [{ name: 'Partial Lengths', email: 'partial@example.org' }],
  });
  const block = Buffer.from(publicKey);
  const fpr = (await openpgp.readKey({ binaryKey: publicKey })).getFingerprint().toUpperCase();
  const partial = withHeaderForm(block, 'partial', rawPackets(block).findIndex((p) => p.tag === 13));
  // armored by openpgp.js with the CRC line, which SKS 1.1.6 requires
  const armored = (data: Buffer) =>
    openpgp.armor(openpgp.enums.armor.publicKey, new Uint8Array(data), undefined, undefined, undefined, true);
  const add = (url: string, data: Buffer) =>
    fetch(`${url}/pks/add`, { method: 'POST', body: new URLSearchParams({ keytext: armored(data) }) });
  const stored = async (url: string) => (await fetch(`${url}/pks/lookup?op=get&options=mr&search=0x${fpr}`)).status === 200;
  for (const [name, url] of [['SKS', sks.hkpUrl], ['ours', ours.url]] as const) {
    const refused = await add(url, partial);
    await refused.arrayBuffer();
    assert.equal(await stored(url), false, `${name} stored the key with a partial body length (answer ${refused.status})`);
    if (name === 'ours') assert.equal(refused.status, 400);
    const taken = await add(url, withHeaderForm(block, 'five-octet'));
    assert.equal(taken.status, 200, `${name}: ${await taken.text()}`);
    assert.equal(await stored(url), true, `${name} stored the key with five-octet lengths`);
  }
});
