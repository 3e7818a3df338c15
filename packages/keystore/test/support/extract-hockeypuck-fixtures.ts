// Cuts the fixtures the tests need out of the full Hockeypuck 2.3 vector files (too big to commit whole):
//   node --import tsx packages/keystore/test/support/extract-hockeypuck-fixtures.ts \
//        --debian .../debian-keyring-hockeypuck-2.3.json --public-oracle .../oracle-output.jsonl --out test/fixtures/hockeypuck
// --debian: the recon-spec vectors of Debian's keyring; --public-oracle: the oracle's output over the first file of a
// generated public-profile dump (seed "bench"), of which the first PUBLIC_SAMPLE keys are kept.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { toBinary } from '../../src/index.js';

const PUBLIC_SAMPLE = 500;
/** Served packets are kept for the keys whose digest differs from SKS's, when they are smaller than this (one Debian
 * key of 350 KB is left to its digest). */
const SERVED_MAX_BYTES = 64 * 1024;

interface DebianVector {
  fingerprint: string; hp_digest: string; sks_digest: string; raw_digest: string;
  dropped_packets: Record<string, number>; normalized_armored: string; served_digest_matches: boolean;
}

const { values } = parseArgs({ options: { debian: { type: 'string' }, 'public-oracle': { type: 'string' }, out: { type: 'string' } } });
if (!values.out) throw new Error('--out DIR');
if (values.debian) {
  const full = JSON.parse(readFileSync(values.debian, 'utf8')) as {
    source: string; keyring: string; filters: string; counts: object; vectors: DebianVector[]; refused: object[];
  };
  const served: Buffer[] = [];
  const keys = full.vectors.map((v) => {
    const packets = v.hp_digest !== v.sks_digest ? toBinary(v.normalized_armored) : null;
    const keep = packets !== null && packets.length <= SERVED_MAX_BYTES;
    if (keep) served.push(packets);
    return {
      fingerprint: v.fingerprint, raw_digest: v.raw_digest, sks_digest: v.sks_digest, hp_digest: v.hp_digest,
      dropped: v.dropped_packets, ...(keep ? { served: true } : {}),
    };
  });
  writeFileSync(join(values.out, 'debian-keyring-hockeypuck-2.3.json'), JSON.stringify({
    source: full.source, keyring: full.keyring, filters: full.filters, counts: full.counts,
    served_file: 'debian-keyring-hockeypuck-2.3-served.pgp: the packets Hockeypuck served (op=get) for each key marked served, in order',
    keys, refused: full.refused,
  }, null, 1) + '\n');
  writeFileSync(join(values.out, 'debian-keyring-hockeypuck-2.3-served.pgp'), Buffer.concat(served));
}
if (values['public-oracle']) {
  const lines = readFileSync(values['public-oracle'], 'utf8').trim().split('\n').slice(0, PUBLIC_SAMPLE).map((l) => JSON.parse(l) as {
    fingerprint: string; hp_digest?: string; refused?: string; dropped: Record<string, number>; raw_packets: number; hp_packets: number;
  });
  writeFileSync(join(values.out, 'public-profile-bench-hockeypuck-2.3.json'), JSON.stringify({
    source: 'Hockeypuck 2.3 oracle over the first keys of a generated public-profile dump (sks-admin gen --profile public --seed bench): every key is a function of (seed, index), so the first keys of any size of dump are these',
    generator: { profile: 'public', seed: 'bench', keys: lines.length },
    keys: lines.map((o) => ({ fingerprint: o.fingerprint, hp_digest: o.hp_digest, refused: o.refused, dropped: o.dropped, raw_packets: o.raw_packets, hp_packets: o.hp_packets })),
  }, null, 1) + '\n');
}
