// Property-based: broken uploads never get an error other than "unreadable input" or a refusal, and never change
// or damage what is stored. Inputs are real Debian keys mutated the way broken uploads are (flips, cuts, splices).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { KeyInputError, KeyStore, armor, toBinary, ArmorError } from '../src/index.js';
import { DEBIAN_KEYRING, keyBlocks } from '../../../test/support/keyrings.js';
import { makeTempDir } from '../../../test/support/tmp.js';
import { FUZZ_RUNS, mutate, type Mutation } from '../../../test/support/fuzz.js';

const blocks = keyBlocks(readFileSync(DEBIAN_KEYRING)).slice(0, 40);
const mutation = fc.record<Mutation>({
  kind: fc.constantFrom('flip', 'truncate', 'insert', 'repeat', 'zero'),
  at: fc.nat(), len: fc.nat(), value: fc.nat(),
});

test('mutated keys are stored, refused or reported unreadable; the stored keys stay as they were', () => {
  const store = KeyStore.open(join(makeTempDir('fuzz-store-'), 'keys.sqlite'));
  try {
    for (const b of blocks.slice(0, 20)) store.upsertMaterial(b, 'load');
    const before = new Map(blocks.slice(0, 20).map((b) => {
      const [o] = store.upsertMaterial(b, 'load');
      return [o!.fingerprint!, o!.digest!] as const;
    }));
    fc.assert(fc.property(fc.integer({ min: 20, max: blocks.length - 1 }), fc.array(mutation, { minLength: 1, maxLength: 3 }), fc.boolean(), (i, ms, armored) => {
      let data = blocks[i]!;
      for (const m of ms) data = mutate(data, m);
      const input = armored ? armor(data, 'PUBLIC KEY BLOCK') : data;
      try {
        const outcomes = store.upsertMaterial(input, 'add');
        for (const o of outcomes) assert.ok(['inserted', 'updated', 'unchanged', 'rejected'].includes(o.status));
      } catch (e) {
        assert.ok(e instanceof KeyInputError, `only unreadable input may throw, got ${(e as Error).stack}`);
      }
    }), { numRuns: FUZZ_RUNS });
    for (const [fp, digest] of before) {
      // a mutated copy of another key may merge into a stored one; one of these 20 was never offered mutated
      assert.equal(store.getByFingerprint(fp)?.digest, digest, `stored key ${fp} unchanged`);
    }
    assert.deepEqual(store.integrityCheck(10), ['ok']);
    assert.deepEqual(store.reconView.verify(), [], 'the recon set still matches the stored keys');
    assert.equal(store.reconView.size(), store.count());
  } finally {
    store.close();
  }
});

test('arbitrary text and bytes as key material: read or refused as unreadable, never another error', () => {
  fc.assert(fc.property(fc.oneof(
    fc.string({ maxLength: 400 }).map((s) => `-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n${s}\n-----END PGP PUBLIC KEY BLOCK-----\n`),
    fc.uint8Array({ maxLength: 400 }).map((a) => Buffer.from(a)),
    fc.string({ maxLength: 400 }),
  ), (input) => {
    try {
      toBinary(input);
    } catch (e) {
      assert.ok(e instanceof ArmorError, `${(e as Error).stack}`);
    }
  }), { numRuns: FUZZ_RUNS });
});
