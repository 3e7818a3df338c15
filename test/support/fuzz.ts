// Shared settings of the property-based tests (fast-check): how many cases a run tries. CI runs a bounded number;
// `make fuzz` sets FUZZ_RUNS much higher. A failure prints the seed and the shrunk counterexample.
export const FUZZ_RUNS = Math.max(1, Number(process.env.FUZZ_RUNS ?? 300));

/** Mutations of real input: byte flips, cuts, splices and repeats, the shapes broken uploads have. */
export interface Mutation {
  kind: 'flip' | 'truncate' | 'insert' | 'repeat' | 'zero';
  at: number;
  len: number;
  value: number;
}

export function mutate(data: Buffer, m: Mutation): Buffer {
  if (data.length === 0) return data;
  const at = m.at % data.length;
  const len = 1 + (m.len % 64);
  switch (m.kind) {
    case 'flip': {
      const out = Buffer.from(data);
      out[at] = out[at]! ^ (1 + (m.value % 255));
      return out;
    }
    case 'truncate':
      return data.subarray(0, at);
    case 'insert':
      return Buffer.concat([data.subarray(0, at), Buffer.alloc(len, m.value & 0xff), data.subarray(at)]);
    case 'repeat':
      return Buffer.concat([data.subarray(0, at + len), data.subarray(at)]);
    case 'zero': {
      const out = Buffer.from(data);
      out.fill(0, at, Math.min(out.length, at + len));
      return out;
    }
  }
}
