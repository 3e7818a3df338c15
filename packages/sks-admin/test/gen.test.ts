// The synthetic keydump generator: its keys are real OpenPGP keys (openpgp.js parses them and verifies every
// self-signature; GnuPG imports them: integration/gen-gnupg.test.ts), split copies are halves of one key, flooded
// keys carry the certifications asked for, and the same parameters give the same bytes. The public profile (keys
// shaped like the public SKS dump) is checked the same way, and our store keeps its keys as they are.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, checkPrimeSync } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import { KeyStore, defaultSettings, policyFromSettings } from '@sks/keystore';
import { cacheDirOf, cachedDump, generateDump, GENERATOR_VERSION, type GenManifest, type GenParams } from '../src/gen.js';
import { CREATION_TICK, DSA_GROUPS, PUBLIC_ALGOS, generatePublicKey, publicHead, rsa4096Pool } from '../src/gen-public.js';
import { rsaPool } from '../src/gen-keys.js';
import { loadFiles } from '../src/load.js';
import { makeTempDir } from '../../../test/support/tmp.js';
import { keyBlocks } from '../../../test/support/keyrings.js';
import { PARAMS, PUBLIC, readDump } from './gen-helpers.js';

/** Generates `params` again on one worker with another chunk size and checks the blocks equal those in `dir`. */
async function assertRegeneratesSameBytes(dir: string, params: GenParams): Promise<Buffer[]> {
  const again = makeTempDir('gen-again-');
  await generateDump(again, params, { workers: 1, chunkKeys: 77 });
  const a = readDump(dir);
  const b = readDump(again);
  assert.equal(a.length, b.length);
  a.forEach((x, i) => assert.ok(x.equals(b[i]!), `block ${i} differs`));
  return a;
}

const dirA = makeTempDir('gen-a-');
let manifest: Awaited<ReturnType<typeof generateDump>>;

test('gen writes SKS-style dump files of keysPerFile blocks: keys plus the second copies of split keys', async () => {
  manifest = await generateDump(dirA, PARAMS, { workers: 2, chunkKeys: 50 });
  const files = readdirSync(dirA).filter((n) => n.endsWith('.pgp')).sort();
  assert.deepEqual(files, ['sks-dump-0000.pgp', 'sks-dump-0001.pgp', 'sks-dump-0002.pgp']);
  const blocks = readDump(dirA);
  assert.equal(blocks.length, PARAMS.keys + PARAMS.dups);
  assert.equal(manifest.blocks, blocks.length);
  assert.equal(keyBlocks(readFileSync(join(dirA, files[0]!))).length, 100);
  for (const algo of ['ed25519', 'v6', 'p256', 'rsa'] as const) assert.ok(manifest.algos[algo] > 0, `no ${algo} keys`);
});

test('every generated key parses in openpgp.js with valid self-signatures and an encryption subkey', async () => {
  const blocks = readDump(dirA);
  const byFpr = new Map<string, openpgp.Key[]>();
  const versions = new Set<number>();
  const algos = new Set<string>();
  for (const b of blocks) {
    const [key] = await openpgp.readKeys({ binaryKeys: b });
    assert.ok(key);
    await key.verifyPrimaryKey();
    for (const u of await key.verifyAllUsers()) assert.equal(u.valid, true, `user ${u.userID} of ${key.getFingerprint()}`);
    versions.add(key.keyPacket.version);
    algos.add(key.getAlgorithmInfo().algorithm);
    const fp = key.getFingerprint().toUpperCase();
    byFpr.set(fp, [...(byFpr.get(fp) ?? []), key]);
  }
  assert.equal(byFpr.size, PARAMS.keys, 'one fingerprint per key');
  assert.deepEqual([...versions].sort(), [4, 6]);
  assert.deepEqual([...algos].sort(), ['ecdsa', 'ed25519', 'eddsaLegacy', 'rsaEncryptSign']);
  const split = [...byFpr.values()].filter((ks) => ks.length === 2);
  assert.equal(split.length, PARAMS.dups);
  for (const [a, b] of split) {
    // halves: one has the subkey, the other a second user ID; merged they make one key with both
    assert.notDeepEqual(a!.getUserIDs(), b!.getUserIDs());
    const merged = await a!.update(b!);
    assert.equal(merged.users.length, 2);
    assert.equal(merged.subkeys.length, 1);
    await merged.getEncryptionKey();
  }
  for (const [k] of byFpr.values()) if (k!.subkeys.length > 0) await k!.getEncryptionKey();
  const flooded = [...byFpr.values()].flat().filter((k) => k.users.some((u) => u.otherCertifications.length > 0));
  assert.equal(flooded.length, PARAMS.flooded);
  assert.equal(flooded[0]!.users[0]!.otherCertifications.length, PARAMS.floodCerts);
});

test('the same parameters give the same bytes (any number of workers); another seed gives other keys', async () => {
  const a = await assertRegeneratesSameBytes(dirA, PARAMS);
  const dirC = makeTempDir('gen-c-');
  await generateDump(dirC, { ...PARAMS, keys: 20, dups: 0, flooded: 0, seed: 'other' }, { workers: 1 });
  const c = readDump(dirC);
  assert.ok(!c[0]!.equals(a[0]!));
});

// ---------------------------------------------------------------------------------------------------------------
// The public profile

const dirP = makeTempDir('gen-pub-');
let pubManifest: GenManifest;

test('public profile: v4 keys of every algorithm of the mix, about 2 KB a key on average with a heavy tail', async () => {
  pubManifest = await generateDump(dirP, PUBLIC, { workers: 2, chunkKeys: 64 });
  assert.equal(pubManifest.profile, 'public');
  const blocks = readDump(dirP);
  assert.equal(blocks.length, PUBLIC.keys);
  assert.equal(pubManifest.blocks, PUBLIC.keys);
  assert.deepEqual(Object.keys(pubManifest.algos).sort(), [...PUBLIC_ALGOS].sort());
  for (const algo of PUBLIC_ALGOS) assert.ok(pubManifest.algos[algo]! > 0, `no ${algo} keys`);
  const rsa = pubManifest.algos.rsa2048! + pubManifest.algos.rsa4096!;
  const dsa = pubManifest.algos.dsa1024! + pubManifest.algos.dsa2048!;
  assert.ok(rsa > 0.4 * PUBLIC.keys && dsa > 0.2 * PUBLIC.keys, JSON.stringify(pubManifest.algos));
  const sizes = pubManifest.sizes!;
  assert.equal(sizes.mean, Math.round(pubManifest.bytes / blocks.length));
  assert.ok(sizes.mean >= 1600 && sizes.mean <= 2600, `mean key size ${sizes.mean}`);
  assert.ok(sizes.median < sizes.mean && sizes.max > 4 * sizes.median, JSON.stringify(sizes));
  assert.ok(blocks.every((b) => b[0] === 0x99 || b[0] === 0x98), 'old-format key packet headers, as SKS writes them');
});

test('public profile: every key parses in openpgp.js; self-signatures, bindings and revocations are valid', async () => {
  const config = { ...openpgp.config, rejectPublicKeyAlgorithms: new Set<openpgp.enums.publicKey>(), minRSABits: 2048 };
  const algos = new Set<string>();
  const fprs = new Set<string>();
  const subFprs = new Set<string>();
  let subkeys = 0;
  let revokedKeys = 0, revokedUsers = 0, revokedSubkeys = 0, photos = 0, certs = 0, expiring = 0;
  for (const b of readDump(dirP)) {
    const [key] = await openpgp.readKeys({ binaryKeys: b, config });
    assert.ok(key);
    assert.equal(key.keyPacket.version, 4);
    fprs.add(key.getFingerprint());
    algos.add(key.getAlgorithmInfo().algorithm);
    for (const s of key.subkeys) {
      algos.add(s.getAlgorithmInfo().algorithm);
      subFprs.add(s.getFingerprint());
      subkeys++;
    }
    // every signature by the key itself is valid when made (a hard revocation counts at any date, so revoked parts
    // are checked signature by signature)
    const { signature: T } = openpgp.enums;
    const made = (sig: openpgp.SignaturePacket, type: openpgp.enums.signature, data: object) =>
      sig.verify(key.keyPacket, type, { key: key.keyPacket, ...data }, sig.created!, false, config);
    for (const u of key.users) {
      const data = { userID: u.userID, userAttribute: u.userAttribute };
      for (const sig of u.selfCertifications) await made(sig, sig.signatureType!, data);
      for (const sig of u.revocationSignatures) await made(sig, T.certRevocation, data);
      if (u.revocationSignatures.length > 0) revokedUsers++;
      else if (u.userAttribute) photos++;
      certs += u.otherCertifications.length;
    }
    for (const s of key.subkeys) {
      for (const sig of s.bindingSignatures) await made(sig, T.subkeyBinding, { bind: s.keyPacket });
      for (const sig of s.revocationSignatures) await made(sig, T.subkeyRevocation, { bind: s.keyPacket });
      if (s.revocationSignatures.length > 0) revokedSubkeys++;
    }
    for (const sig of key.revocationSignatures) await made(sig, T.keyRevocation, {});
    // and the key is valid as a whole at the time of its newest self-signature (if not revoked)
    const selfTimes = [...key.users.flatMap((u) => u.selfCertifications), ...key.subkeys.flatMap((s) => s.bindingSignatures)]
      .map((sig) => sig.created!.getTime());
    const date = new Date(Math.max(...selfTimes));
    if (key.revocationSignatures.length > 0) {
      revokedKeys++;
    } else {
      await key.verifyPrimaryKey(date, undefined, config);
      for (const u of key.users) if (u.revocationSignatures.length === 0) await u.verify(date, config);
      for (const s of key.subkeys) if (s.revocationSignatures.length === 0) await s.verify(s.bindingSignatures[0]!.created!, config);
    }
    if ((await key.getExpirationTime(undefined, config)) !== Infinity) expiring++;
  }
  // pooled key material differs by creation time only: still no two keys or subkeys alike
  assert.equal(fprs.size, PUBLIC.keys, 'one fingerprint per key');
  assert.equal(subFprs.size, subkeys, 'one fingerprint per subkey');
  assert.ok([...subFprs].every((f) => !fprs.has(f)));
  assert.deepEqual([...algos].sort(), ['dsa', 'ecdh', 'ecdsa', 'eddsaLegacy', 'elgamal', 'rsaEncryptSign']);
  const shape = JSON.stringify({ revokedKeys, revokedUsers, revokedSubkeys, photos, certs, expiring });
  assert.ok(revokedKeys > 0 && revokedUsers > 0 && revokedSubkeys > 0 && photos > 0 && expiring > 0, shape);
  assert.ok(certs > PUBLIC.keys, shape);
});

test('public profile past 2^21 keys: keys i and i + 2^21 with the same creation time still differ in every key packet', async () => {
  // Creation times repeat with period CREATION_TICK in the index, so a 6M dump has pairs whose times coincide; find
  // such pairs among the first keys, one of each pooled kind (RSA, Ed25519, DSA with ElGamal), and compare them.
  const seed = PUBLIC.seed;
  const opts = { seed, rsaPool: rsaPool(seed), rsa4096Pool: rsa4096Pool(seed), v6: false };
  const found = new Map<string, number>();
  for (let i = 0; i < 200_000 && found.size < 3; i++) {
    const a = publicHead(seed, i);
    const b = publicHead(seed, i + CREATION_TICK);
    const kind = a.algo === 'rsa2048' ? 'rsa' : a.algo === 'ed25519' ? 'ed' : a.algo === 'dsa1024' ? 'dsa' : '';
    if (kind && !found.has(kind) && a.algo === b.algo && a.created === b.created) found.set(kind, i);
  }
  assert.equal(found.size, 3, `pairs with one creation time found: ${[...found.keys()].join(', ')}`);
  const config = { ...openpgp.config, rejectPublicKeyAlgorithms: new Set<openpgp.enums.publicKey>(), minRSABits: 2048 };
  const fingerprints = async (index: number) => {
    const [key] = await openpgp.readKeys({ binaryKeys: generatePublicKey({ index, split: false, floodCerts: 0 }, opts).block, config });
    return [key!.getFingerprint(), ...key!.subkeys.map((s) => s.getFingerprint())];
  };
  for (const [kind, i] of found) {
    const mine = await fingerprints(i);
    for (const later of [i + CREATION_TICK, i + 2 * CREATION_TICK]) {
      const theirs = await fingerprints(later);
      for (const f of theirs) assert.ok(!mine.includes(f), `${kind}: key ${later} shares key packet ${f} with key ${i}`);
    }
  }
});

test('public profile: the same parameters give the same bytes with any number of workers', async () => {
  await assertRegeneratesSameBytes(dirP, PUBLIC);
});

test('public profile: our store keeps every key as it is (nothing refused, no policy cut); split copies merge', async () => {
  const policy = policyFromSettings(defaultSettings());
  const load = async (dir: string) => {
    const store = KeyStore.open(join(makeTempDir('gen-pub-db-'), 'keys.sqlite'), { policy });
    const files = readdirSync(dir).filter((n) => n.endsWith('.pgp')).sort().map((n) => join(dir, n));
    const summary = await loadFiles({ store, files, policy, workers: 0, progress: false });
    return { store, summary };
  };
  const { store, summary } = await load(dirP);
  try {
    assert.equal(summary.run.read, PUBLIC.keys);
    assert.equal(summary.run.inserted, PUBLIC.keys, JSON.stringify(summary.run));
    assert.equal(summary.run.rejected ?? 0, 0, JSON.stringify(summary.run));
    for (const b of readDump(dirP)) {
      const [key] = await openpgp.readKeys({ binaryKeys: b });
      const stored = store.getByFingerprint(key!.getFingerprint());
      assert.ok(stored);
      assert.deepEqual(stored.cuts, []);
      assert.ok(stored.data.equals(b), `${key!.getFingerprint()} stored otherwise than generated`);
    }
  } finally {
    store.close();
  }
  // a split key (two user IDs apart from its subkeys) is whole again after the load
  const dirS = makeTempDir('gen-pub-split-');
  const m = await generateDump(dirS, { ...PUBLIC, keys: 60, dups: 6 }, { workers: 1 });
  const split = await load(dirS);
  try {
    assert.equal(split.summary.run.read, m.blocks);
    assert.equal(split.summary.run.inserted, 60);
    assert.equal(split.summary.run.updated, 6, JSON.stringify(split.summary.run));
    const halves = new Map<string, openpgp.Key[]>();
    for (const b of readDump(dirS)) {
      const [k] = await openpgp.readKeys({ binaryKeys: b });
      halves.set(k!.getFingerprint(), [...(halves.get(k!.getFingerprint()) ?? []), k!]);
    }
    for (const [fpr, [a, b]] of halves) {
      if (!b) continue;
      const [whole] = await openpgp.readKeys({ binaryKeys: split.store.getByFingerprint(fpr)!.data });
      assert.equal(whole!.users.length, a!.users.length + b.users.length);
      assert.equal(whole!.subkeys.length, a!.subkeys.length + b.subkeys.length);
    }
  } finally {
    split.store.close();
  }
});

test('public profile: its DSA groups are what they claim (RFC 5114: q prime, q divides p - 1, g of order q)', () => {
  for (const [bits, g] of Object.entries(DSA_GROUPS)) {
    assert.equal(g.p.toString(2).length, Number(bits));
    assert.ok(checkPrimeSync(g.p) && checkPrimeSync(g.q), `group ${bits}`);
    assert.equal((g.p - 1n) % g.q, 0n);
    let r = 1n;
    for (let b = g.g, e = g.q; e > 0n; e >>= 1n, b = (b * b) % g.p) if (e & 1n) r = (r * b) % g.p;
    assert.equal(r, 1n);
  }
});

test('cachedDump: a profile other than the default is another dump; the default keeps its cache id', async () => {
  const root = makeTempDir('gen-cache-');
  const saved = process.env.SKS_GEN_CACHE;
  process.env.SKS_GEN_CACHE = root;
  try {
    const base: GenParams = { keys: 12, seed: 'cache', flooded: 0, floodCerts: 0, dups: 0, keysPerFile: 100 };
    const a = await cachedDump(base, { workers: 1 });
    const b = await cachedDump({ ...base, profile: 'default' }, { workers: 1 });
    const c = await cachedDump({ ...base, profile: 'public' }, { workers: 1 });
    assert.equal(b.dir, a.dir);
    assert.equal(b.cached, true);
    assert.notEqual(c.dir, a.dir);
    assert.equal(c.cached, false);
    assert.equal(c.manifest.profile, 'public');
    assert.equal(a.manifest.profile, 'default');
    // the id of a default-profile dump is what it was before profiles existed, so cached dumps stay valid
    const id = createHash('sha256').update(JSON.stringify({ v: GENERATOR_VERSION, ...base })).digest('hex').slice(0, 16);
    assert.equal(a.dir, join(root, `keys12-${id}`));
    assert.ok(!readDump(c.dir)[0]!.equals(readDump(a.dir)[0]!));
  } finally {
    if (saved === undefined) delete process.env.SKS_GEN_CACHE;
    else process.env.SKS_GEN_CACHE = saved;
  }
});

for (const profile of ['default', 'public'] as const) {
  test(`${profile} profile: an interrupted generation resumes from the whole files a gone process left, to the same bytes and manifest`, async () => {
    const params: GenParams = { keys: 300, seed: `gen-resume-${profile}`, flooded: 0, floodCerts: 0, dups: 0, keysPerFile: 50, profile, v6: true };
    const whole = makeTempDir('gen-whole-');
    const expected = await generateDump(whole, params, { chunkKeys: 25 });
    const saved = process.env.SKS_GEN_CACHE;
    process.env.SKS_GEN_CACHE = makeTempDir('gen-cache-');
    try {
      // what a run killed while writing its fourth file leaves: three whole files and part of the fourth, in the
      // .tmp-PID folder of a process that no longer exists (no pid is that high)
      const stale = `${cacheDirOf(params)}.tmp-999999999`;
      mkdirSync(stale, { recursive: true });
      for (const f of expected.files.slice(0, 3)) writeFileSync(join(stale, f), readFileSync(join(whole, f)));
      const fourth = readFileSync(join(whole, expected.files[3]!));
      writeFileSync(join(stale, expected.files[3]!), fourth.subarray(0, fourth.length >> 1));
      const r = await cachedDump(params, { chunkKeys: 25 });
      assert.equal(r.cached, false);
      assert.equal(existsSync(stale), false, 'the interrupted folder was taken over');
      assert.deepEqual(r.manifest.files, expected.files);
      for (const f of expected.files) assert.ok(readFileSync(join(r.dir, f)).equals(readFileSync(join(whole, f))), `${f} differs`);
      const { ms: _a, ...got } = r.manifest;
      const { ms: _b, ...want } = expected;
      assert.deepEqual(got, want);
    } finally {
      if (saved === undefined) delete process.env.SKS_GEN_CACHE;
      else process.env.SKS_GEN_CACHE = saved;
    }
  });
}
