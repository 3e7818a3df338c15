// Writes the rules keyring and, when given Hockeypuck's oracle, what Hockeypuck 2.3 makes of each key:
//   node --import tsx packages/keystore/test/support/make-hockeypuck-vectors.ts --out test/fixtures/hockeypuck \
//        --oracle /path/to/hp-oracle
// The oracle is the small Go program that runs Hockeypuck's own openpgp package over a keyring on stdin (see
// test/fixtures/hockeypuck/README.md for how it is built). Each key is run alone, as our profile sees it: in one
// stream Hockeypuck's reader would hang the packets of a key it skips onto the key before.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fingerprintOf, writePackets } from '../../src/index.js';
import { ruleKeys } from './hockeypuck-rule-keys.js';
import { gnupgKeys } from './hockeypuck-gnupg-keys.js';

const { values } = parseArgs({ options: { out: { type: 'string' }, oracle: { type: 'string' } } });
if (!values.out) throw new Error('usage: make-hockeypuck-vectors.ts --out DIR [--oracle PATH]');
mkdirSync(values.out, { recursive: true });
const keys = [...ruleKeys(), ...gnupgKeys()];
const blobs = keys.map((k) => writePackets(k.packets));
writeFileSync(join(values.out, 'rules-keyring.pgp'), Buffer.concat(blobs));
const entries = keys.map((k, i) => {
  const oracle = values.oracle ? execFileSync(values.oracle, { input: blobs[i], maxBuffer: 64 << 20 }).toString().trim() : '';
  return { label: k.label, fingerprint: fingerprintOf(k.packets[0]!.body), bytes: blobs[i]!.length, oracle: oracle ? JSON.parse(oracle) : null };
});
writeFileSync(join(values.out, 'rules-hockeypuck-2.3.json'), JSON.stringify({
  source: 'Hockeypuck 2.3 (git tag 2.3, Go 1.23, vendored go-crypto) via the oracle: its openpgp package run over each key of rules-keyring.pgp alone, with its default reader limits (maxKeyLength 1048576, maxPacketLength 8192). oracle: null where Hockeypuck\'s reader skips the key (its primary key packet is unreadable or too large).',
  keys: entries,
}, null, 1) + '\n');
console.log(`${keys.length} keys, ${Buffer.concat(blobs).length} bytes`);
