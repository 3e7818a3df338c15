// Field arithmetic of recon (GF(p), p the 129-bit prime of SKS's zZp.ml) in BigInt, measured: products, inversions,
// and the recovery of one node's difference (rational interpolation + root finding), the work recon does per node.
// SKS does the same in OCaml's GMP-backed Numerix; it has no separate figure, so this part reports ours only.
import { randomBytes } from 'node:crypto';
import { zzp } from '../packages/keystore/src/index.js';
import { reconcile, ratio } from '../packages/sks-recon/src/decode.js';
import type { Row } from './row.js';

const { P, mul, inv, factorsOf, SAMPLE_POINTS, NUM_SAMPLES } = zzp;

function randomElement(): bigint {
  return BigInt(`0x${randomBytes(16).toString('hex')}`) % P;
}

/** Operations per second of `op` over `n` inputs, best of 3 rounds. */
function rate(n: number, op: (i: number) => void): number {
  let best = 0;
  for (let round = 0; round < 3; round++) {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) op(i);
    best = Math.max(best, n / ((performance.now() - t0) / 1000));
  }
  return best;
}

/** Sample values (characteristic polynomial at the sample points) of a set of elements. */
function samples(set: bigint[]): bigint[] {
  const v = Array.from({ length: NUM_SAMPLES }, () => 1n);
  for (const x of set) {
    const f = factorsOf(x);
    for (let i = 0; i < NUM_SAMPLES; i++) v[i] = mul(v[i]!, f[i]!);
  }
  return v;
}

export async function runFieldBench(): Promise<Row[]> {
  const xs = Array.from({ length: 20_000 }, randomElement);
  const ys = Array.from({ length: 20_000 }, randomElement);
  let sink = 0n;
  const muls = rate(xs.length, (i) => { sink ^= mul(xs[i]!, ys[i]!); });
  const invs = rate(2_000, (i) => { sink ^= inv(xs[i]!); });

  // A node whose sets differ by 2 + 2 elements (d within SKS's mbar = 5): recover both sides' extras.
  const cases = Array.from({ length: 50 }, () => {
    const common = Array.from({ length: 40 }, randomElement);
    const remoteOnly = [randomElement(), randomElement()];
    const localOnly = [randomElement(), randomElement()];
    return { values: ratio(samples([...common, ...remoteOnly]), samples([...common, ...localOnly])), remoteOnly };
  });
  let recovered = 0;
  const recoveries = rate(cases.length, (i) => {
    const r = reconcile(cases[i]!.values, SAMPLE_POINTS, 0);
    if (r && r.remoteOnly.length === 2) recovered++;
  });
  if (recovered !== cases.length * 3) throw new Error(`recovery failed on ${cases.length * 3 - recovered} of ${cases.length * 3} nodes`);
  if (sink === -1n) console.log(sink); // keep the work observable
  return [
    { metric: 'field multiplications', unit: 'per s', ours: muls, sks: '' },
    { metric: 'field inversions', unit: 'per s', ours: invs, sks: '' },
    { metric: 'node recoveries, 2+2 differences', unit: 'per s', ours: recoveries, sks: '' },
  ];
}
