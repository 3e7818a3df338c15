// Root finding for recovery: the one-pass split-and-check (distinctRoots) agrees with SKS's criterion z^p ≡ z
// (mod f) (splitsCompletely) on polynomials that split, that have an irreducible quadratic factor, that have a
// repeated root, and on random ones; and recovery refuses a numerator that does not split.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { zzp } from '@sks/keystore';
import { distinctRoots, splitsCompletely, reconcile, type Poly } from '../src/decode.js';

const { P, mul, sub, neg, pow } = zzp;
const rnd = (): bigint => zzp.fromLE(randomBytes(17), 0, 17) % P;

function polyMul(a: Poly, b: Poly): Poly {
  const out = new Array<bigint>(a.length + b.length - 1).fill(0n);
  a.forEach((x, i) => b.forEach((y, j) => (out[i + j] = (out[i + j]! + x * y) % P)));
  return out;
}
const linear = (r: bigint): Poly => [neg(r), 1n];
const product = (rs: bigint[]): Poly => rs.reduce<Poly>((f, r) => polyMul(f, linear(r)), [1n]);
const sorted = (xs: bigint[]) => [...xs].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

/** z² − n for a quadratic non-residue n: irreducible over F_p. */
function irreducibleQuadratic(): Poly {
  for (let n = 2n; ; n++) if (pow(n, (P - 1n) / 2n) === P - 1n) return [neg(n), 0n, 1n];
}

test('products of distinct linear factors give back exactly their roots', () => {
  for (let deg = 1; deg <= 6; deg++) {
    for (let k = 0; k < 5; k++) {
      const rs = Array.from({ length: deg }, rnd);
      const f = product(rs);
      assert.equal(splitsCompletely(f), true);
      assert.deepEqual(sorted(distinctRoots(f)!), sorted(rs));
    }
  }
});

test('an irreducible quadratic factor, a repeated root or a random polynomial is refused as SKS refuses it', () => {
  const q = irreducibleQuadratic();
  const r = rnd();
  const cases: Poly[] = [
    q, polyMul(q, linear(rnd())), polyMul(q, product([rnd(), rnd(), rnd()])),
    product([r, r]), product([r, r, rnd()]), product([r, rnd(), r, rnd()]),
  ];
  for (let k = 0; k < 30; k++) cases.push([...Array.from({ length: 3 + (k % 3) }, rnd), 1n]);
  for (const f of cases) {
    const split = splitsCompletely(f);
    assert.equal(distinctRoots(f) !== undefined, split, `degree ${f.length - 1}: agrees with z^p = z (mod f)`);
  }
  assert.ok(cases.slice(0, 6).every((f) => !splitsCompletely(f)));
});

test('recovery refuses a difference whose numerator does not split', () => {
  // remote/local = (z² − n)(z − r): consistent at all six points, but no set of elements has it as its polynomial.
  const num = polyMul(irreducibleQuadratic(), linear(rnd()));
  const values = zzp.SAMPLE_POINTS.map((z) => num.reduceRight((acc, c) => (acc * z + c) % P, 0n));
  assert.equal(reconcile(values, zzp.SAMPLE_POINTS, 3), undefined);
  // The same with three real elements recovers them.
  const rs = [rnd(), rnd(), rnd()];
  const good = zzp.SAMPLE_POINTS.map((z) => rs.reduce((acc, x) => mul(acc, sub(z, x)), 1n));
  assert.deepEqual(sorted(reconcile(good, zzp.SAMPLE_POINTS, 3)!.remoteOnly), sorted(rs));
});
