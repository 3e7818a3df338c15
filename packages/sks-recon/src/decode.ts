// Recovering the two difference sets of a node from its sample values (SPEC §4; SKS decode.ml, after Minsky,
// Trachtenberg and Zippel 2003): the ratio of the two characteristic polynomials is a rational function P/Q whose
// numerator's roots are the remote side's extra elements and whose denominator's roots are ours. Interpolate it from
// 5 points, check it against the 6th, then find the roots by random splitting over F_p.
import { randomBytes } from 'node:crypto';
import { zzp } from '@sks/keystore';

const { P, sub, mul, inv, neg } = zzp;

/** A polynomial over F_p: coefficients from degree 0 upwards, no trailing zeros ([] is zero). */
export type Poly = bigint[];

function trim(a: Poly): Poly {
  let n = a.length;
  while (n > 0 && a[n - 1] === 0n) n--;
  return n === a.length ? a : a.slice(0, n);
}

export function degree(a: Poly): number {
  return trim(a).length - 1;
}

export function evalPoly(a: Poly, x: bigint): bigint {
  let r = 0n;
  for (let i = a.length - 1; i >= 0; i--) r = (r * x + a[i]!) % P;
  return r;
}

function polySub(a: Poly, b: Poly): Poly {
  const out = new Array<bigint>(Math.max(a.length, b.length));
  for (let i = 0; i < out.length; i++) out[i] = sub(a[i] ?? 0n, b[i] ?? 0n);
  return trim(out);
}

/** Quotient and remainder of a / b (b non-zero). */
function polyDivMod(a: Poly, b: Poly): { q: Poly; r: Poly } {
  const bb = trim(b);
  if (bb.length === 0) throw new RangeError('polynomial division by zero');
  const r = [...trim(a)];
  const db = bb.length - 1;
  if (r.length - 1 < db) return { q: [], r };
  const lcInv = inv(bb[db]!);
  const q = new Array<bigint>(r.length - db).fill(0n);
  for (let i = r.length - 1; i >= db; i--) {
    const c = mul(r[i]!, lcInv);
    q[i - db] = c;
    if (c === 0n) continue;
    for (let j = 0; j <= db; j++) r[i - db + j] = sub(r[i - db + j]!, mul(c, bb[j]!));
  }
  return { q: trim(q), r: trim(r.slice(0, db)) };
}

function monic(a: Poly): Poly {
  const t = trim(a);
  if (t.length === 0) return t;
  const c = inv(t[t.length - 1]!);
  return t.map((x) => mul(x, c));
}

export function polyGcd(a: Poly, b: Poly): Poly {
  let x = trim(a);
  let y = trim(b);
  while (y.length > 0) [x, y] = [y, polyDivMod(x, y).r];
  return monic(x);
}

/** (z + a)^e mod m, for monic m of degree >= 1: left-to-right square-and-multiply where multiplying by (z + a) is a
 * shift and one scalar product. Recovery spends its time here (exponents of 128 bits), so the squaring sums its
 * products unreduced and the reduction by m folds unreduced values too: reducing modulo p (BigInt division, the
 * costly operation) happens once per folded coefficient and once per result coefficient. */
function powLinearMod(a: bigint, e: bigint, m: Poly): Poly {
  const n = m.length - 1; // deg m; m[n] === 1n
  const r: bigint[] = new Array<bigint>(n).fill(0n);
  r[0] = 1n;
  const x = new Array<bigint>(2 * n - 1);
  for (let bit = e.toString(2).length - 1; bit >= 0; bit--) {
    // x = r^2, unreduced (each coefficient below n·p²)
    x.fill(0n);
    for (let i = 0; i < n; i++) {
      const ri = r[i]!;
      if (ri === 0n) continue;
      x[2 * i] += ri * ri;
      const d = ri << 1n;
      for (let j = i + 1; j < n; j++) x[i + j] += d * r[j]!;
    }
    // fold degrees 2n-2 .. n back with z^n = -(m[0] + ... + m[n-1] z^(n-1))
    for (let i = x.length - 1; i >= n; i--) {
      const c = x[i]! % P;
      if (c === 0n) continue;
      for (let j = 0; j < n; j++) x[i - n + j] -= c * m[j]!;
    }
    for (let k = 0; k < n; k++) {
      const v = x[k]! % P;
      r[k] = v < 0n ? v + P : v;
    }
    if ((e >> BigInt(bit)) & 1n) {
      // r = r · (z + a) mod m: shift up, add a·r, fold the degree-n coefficient back with m.
      const top = r[n - 1]!;
      for (let k = n - 1; k > 0; k--) r[k] = r[k - 1]! + a * r[k]! - top * m[k]!;
      r[0] = a * r[0]! - top * m[0]!;
      for (let k = 0; k < n; k++) {
        const v = r[k]! % P;
        r[k] = v < 0n ? v + P : v;
      }
    }
  }
  return trim(r);
}

/** Square root modulo p, or undefined for a non-residue. p ≡ 3 (mod 4), so a root is a^((p+1)/4). */
function sqrtModP(a: bigint): bigint | undefined {
  if (a === 0n) return 0n;
  const r = zzp.pow(a, (P + 1n) / 4n);
  return mul(r, r) === a ? r : undefined;
}

/** Solves the m × m system rows·x = rhs over F_p; a free unknown is set to zero. undefined if inconsistent. */
export function solveLinear(rows: bigint[][], rhs: bigint[]): bigint[] | undefined {
  const m = rows.length;
  const n = m === 0 ? 0 : rows[0]!.length;
  const a = rows.map((r, i) => [...r, rhs[i]!]);
  const pivotCol: number[] = [];
  let row = 0;
  for (let col = 0; col < n && row < m; col++) {
    let piv = row;
    while (piv < m && a[piv]![col] === 0n) piv++;
    if (piv === m) continue;
    [a[row], a[piv]] = [a[piv]!, a[row]!];
    const c = inv(a[row]![col]!);
    for (let k = col; k <= n; k++) a[row]![k] = mul(a[row]![k]!, c);
    for (let r = 0; r < m; r++) {
      if (r === row || a[r]![col] === 0n) continue;
      const f = a[r]![col]!;
      for (let k = col; k <= n; k++) a[r]![k] = sub(a[r]![k]!, mul(f, a[row]![k]!));
    }
    pivotCol.push(col);
    row++;
  }
  for (let r = row; r < m; r++) if (a[r]![n] !== 0n) return undefined;
  const x = new Array<bigint>(n).fill(0n);
  pivotCol.forEach((col, r) => (x[col] = a[r]![n]!));
  return x;
}

/** The reduced rational function P/Q (both monic) with P(z_j)/Q(z_j) = values_j and deg P − deg Q = d, from
 * as many points as given (SKS uses 5). undefined when no such function exists. */
export function interpolate(values: bigint[], points: readonly bigint[], d: number): { num: Poly; den: Poly } | undefined {
  let m = values.length;
  if (Math.abs(d) > m) return undefined;
  if ((m + d) % 2 !== 0) m -= 1;
  const ma = (m + d) / 2;
  const mb = (m - d) / 2;
  const rows: bigint[][] = [];
  const rhs: bigint[] = [];
  for (let j = 0; j < m; j++) {
    const z = points[j]!;
    const f = values[j]!;
    // sum_{i<ma} a_i z^i − f · sum_{i<mb} b_i z^i = f z^mb − z^ma
    const row: bigint[] = [];
    let zi = 1n;
    for (let i = 0; i < ma; i++, zi = mul(zi, z)) row.push(zi);
    const zma = zi;
    zi = 1n;
    for (let i = 0; i < mb; i++, zi = mul(zi, z)) row.push(neg(mul(f, zi)));
    const zmb = zi;
    rows.push(row);
    rhs.push(sub(mul(f, zmb), zma));
  }
  const x = solveLinear(rows, rhs);
  if (!x) return undefined;
  const num = trim([...x.slice(0, ma), 1n]);
  const den = trim([...x.slice(ma), 1n]);
  const g = polyGcd(num, den);
  return { num: polyDivMod(num, g).q, den: polyDivMod(den, g).q };
}

/** True when f splits into distinct linear factors over F_p: z^p ≡ z (mod f). */
export function splitsCompletely(f: Poly): boolean {
  if (degree(f) <= 1) return true;
  if (degree(f) === 2) {
    // Two distinct roots exactly when the discriminant is a non-zero square.
    const t = monic(f);
    const disc = sub(mul(t[1]!, t[1]!), mul(4n, t[0]!));
    return disc !== 0n && sqrtModP(disc) !== undefined;
  }
  const zp = powLinearMod(0n, P, monic(f));
  return trim(polySub(zp, [0n, 1n])).length === 0;
}

function randomElement(): bigint {
  return zzp.fromLE(randomBytes(17), 0, 17) % P;
}

/** The roots of f when it splits into distinct linear factors over F_p, else undefined (SKS's check that
 * z^p ≡ z mod f, and its factoring, in one pass). Quadratics are solved with a square root. Above that, one random
 * a gives w = (z + a)^((p−1)/2) mod f; every root r of a squarefree, fully split f has w(r) ∈ {1, −1} or r = −a, so
 * gcd(w − 1, f)·gcd(w + 1, f)·gcd(z + a, f) = f exactly then, while an irreducible factor of degree ≥ 2 or a
 * repeated root always leaves degree missing. The parts are split further the same way (Cantor–Zassenhaus). */
export function distinctRoots(f: Poly): bigint[] | undefined {
  const t = monic(f);
  const deg = t.length - 1;
  if (deg <= 0) return [];
  if (deg === 1) return [neg(t[0]!)];
  if (deg === 2) {
    // z² + b z + c: (−b ± √(b² − 4c)) / 2, two distinct roots exactly when b² − 4c is a non-zero square.
    const [c, b] = [t[0]!, t[1]!];
    const s = sqrtModP(sub(mul(b, b), mul(4n, c)));
    if (s === undefined || s === 0n) return undefined;
    const half = inv(2n);
    return [mul(sub(s, b), half), mul(sub(neg(s), b), half)];
  }
  const e = (P - 1n) / 2n;
  for (let attempt = 0; attempt < 64; attempt++) {
    const a = randomElement();
    const w = powLinearMod(a, e, t);
    const parts = [polyGcd([a, 1n], t), polyGcd(polySub(w, [1n]), t), polyGcd(polySub(w, [P - 1n]), t)];
    const degrees = parts.map((g) => g.length - 1);
    if (degrees[0]! + degrees[1]! + degrees[2]! !== deg) return undefined;
    if (degrees.some((dg) => dg === deg)) continue; // all roots fell on one side: try another a
    const out: bigint[] = [];
    for (const g of parts) {
      if (g.length <= 1) continue;
      const r = distinctRoots(g);
      if (!r) return undefined;
      out.push(...r);
    }
    return out;
  }
  return undefined; // 64 unlucky draws in a row (probability below 2^-64 for degree ≥ 3)
}

/** The roots of a polynomial that splits into distinct linear factors; throws if it does not. */
export function roots(f: Poly): bigint[] {
  const r = distinctRoots(f);
  if (!r) throw new Error('the polynomial does not split into distinct linear factors');
  return r;
}

/** SKS `reconcile`: from the ratio values_i = remote_i / local_i at the 6 sample points and d = remote size −
 * local size, the elements only the remote side has and those only the local side has; undefined when the
 * difference is too large to recover from one node (the caller then falls back to children or full lists). */
export function reconcile(values: bigint[], points: readonly bigint[], d: number):
  { remoteOnly: bigint[]; localOnly: bigint[] } | undefined {
  const last = values.length - 1;
  const rf = interpolate(values.slice(0, last), points.slice(0, last), d);
  if (!rf) return undefined;
  const qz = evalPoly(rf.den, points[last]!);
  if (qz === 0n) return undefined;
  if (mul(evalPoly(rf.num, points[last]!), inv(qz)) !== values[last]) return undefined;
  const remoteOnly = distinctRoots(rf.num);
  if (!remoteOnly) return undefined;
  const localOnly = distinctRoots(rf.den);
  if (!localOnly) return undefined;
  return { remoteOnly, localOnly };
}

/** values_i = remote_i / local_i. */
export function ratio(remote: readonly bigint[], local: readonly bigint[]): bigint[] {
  // One inversion for all of them (Montgomery's trick): inversions cost far more than products.
  const prefix = new Array<bigint>(local.length);
  let acc = 1n;
  for (let i = 0; i < local.length; i++) {
    prefix[i] = acc;
    acc = mul(acc, local[i]!);
  }
  let accInv = inv(acc);
  const out = new Array<bigint>(local.length);
  for (let i = local.length - 1; i >= 0; i--) {
    out[i] = mul(remote[i]!, mul(accInv, prefix[i]!));
    accInv = mul(accInv, local[i]!);
  }
  return out;
}

