// The Hockeypuck 2.3 vectors in test/fixtures/hockeypuck/ (see its README) and one comparison of a profile's outcome
// with what Hockeypuck's own code made of the same key, shared by the tests that check the hockeypuck profile.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fingerprintOf, readPackets, type NormaliseOutcome } from '../../packages/keystore/src/index.js';
import { fixturePath } from './fixtures.js';
import { DEBIAN_KEYRING, keyBlocks } from './keyrings.js';

/** Absolute path of a file in test/fixtures/hockeypuck/. */
export function hockeypuckFixture(name: string): string {
  return fixturePath(`hockeypuck/${name}`);
}

export function readHockeypuckJson<T>(name: string): T {
  return JSON.parse(readFileSync(hockeypuckFixture(name), 'utf8')) as T;
}

/** Debian's keyring as a real Hockeypuck 2.3 holds it (debian-keyring-hockeypuck-2.3.json), by keyring index: what
 * the recon tests need to pick keys and predict Hockeypuck's digests. */
export function debianKeyringAsHockeypuck() {
  const vectors = readHockeypuckJson<{
    filters: string;
    keys: Array<{ fingerprint: string; hp_digest: string; served?: true }>;
    refused: Array<{ fingerprint: string }>;
  }>('debian-keyring-hockeypuck-2.3.json');
  const byFpr = new Map(vectors.keys.map((k) => [k.fingerprint, k]));
  const blocks = keyBlocks(readFileSync(DEBIAN_KEYRING));
  const fingerprints = blocks.map((b) => fingerprintOf(readPackets(b)[0]!.body));
  /** Hockeypuck's digest of each key (undefined: it refuses the key). */
  const digests = fingerprints.map((f) => byFpr.get(f)?.hp_digest);
  /** Indexes of the keys Hockeypuck keeps. */
  const kept = digests.flatMap((d, i) => (d ? [i] : []));
  return {
    filters: vectors.filters,
    refused: vectors.refused,
    blocks,
    fingerprints,
    digests,
    kept,
    /** Indexes of the kept keys Hockeypuck serves changed (its digest differs from SKS's). */
    changed: kept.filter((i) => byFpr.get(fingerprints[i]!)!.served),
  };
}

/** What the oracle (Hockeypuck's openpgp package run step by step) printed for one key. */
export interface OracleResult {
  fingerprint: string;
  raw_digest: string;
  hp_digest?: string;
  refused?: string;
  /** packets dropped, by cause, as the oracle attributes them */
  dropped: Record<string, number>;
  raw_packets: number;
  hp_packets: number;
}

/** Drops of an outcome as a cause → count map. */
export function dropCounts(outcome: NormaliseOutcome): Record<string, number> {
  if (!outcome.ok) return {};
  return Object.fromEntries(outcome.drops.map((d) => [d.rule, d.packets]));
}

const sorted = (m: Record<string, number>) => Object.entries(m).filter(([, n]) => n > 0).sort(([a], [b]) => (a < b ? -1 : 1));

/** Asserts that `outcome` is what Hockeypuck 2.3 made of the key: refused where it refused (or skipped: `oracle`
 * null), else the same digest and packet count, and the same drops by cause wherever the oracle accounts for every
 * dropped packet (it does not name the few Hockeypuck drops without an error, e.g. a valid self-signature of a type
 * that does not count; there the totals must agree). */
export function assertSameAsHockeypuck(outcome: NormaliseOutcome, oracle: OracleResult | null, what: string): void {
  if (!oracle || oracle.refused) {
    assert.equal(outcome.ok, false, `${what}: Hockeypuck refused it (${oracle?.refused ?? 'its reader skips the key'}), we kept it`);
    return;
  }
  assert.ok(outcome.ok, `${what}: Hockeypuck kept it, we refused it: ${outcome.ok ? '' : `${outcome.reason}: ${outcome.detail}`}`);
  assert.equal(outcome.digest.toString('hex'), oracle.hp_digest, `${what}: digest`);
  assert.equal(outcome.key.length, oracle.hp_packets, `${what}: packets kept`);
  const ours = dropCounts(outcome);
  const theirs = Object.fromEntries(sorted(oracle.dropped));
  const theirTotal = Object.values(theirs).reduce((a, b) => a + b, 0);
  if (theirTotal === oracle.raw_packets - oracle.hp_packets) {
    assert.deepEqual(Object.fromEntries(sorted(ours)), theirs, `${what}: packets dropped by cause`);
  } else {
    assert.equal(Object.values(ours).reduce((a, b) => a + b, 0), oracle.raw_packets - oracle.hp_packets, `${what}: packets dropped`);
  }
}
