// The `hockeypuck` profile: what Hockeypuck 2.2 and 2.3 announce in their recon Config and how they normalise a key
// before taking its digest (SKS's MD5 rule over the packets kept). A peer of theirs must hash the same packets, or
// recon never converges. Read from Hockeypuck's source (tag 2.3) and checked against vectors a real Hockeypuck 2.3
// produced (test/fixtures/hockeypuck/).
//
// Another Hockeypuck release is another HockeypuckVersion: its filters, reader limits, verify options, and the
// steps that differ (2.4 announces versions:3+4+6+rfc9980 and drop:oldSlhdsaSelfSig, and reads v6 keys).
import type { Packet } from '../../openpgp/types.js';
import { sksDigest } from '../../openpgp/digest.js';
import type { VerifyOptions } from '../../openpgp/verify/verify.js';
import { DropLog, type NormaliseOutcome, type ReconProfile } from '../profile.js';
import { HOCKEYPUCK_READER_LIMITS, readKeyTree, type ReaderLimits } from './read.js';
import { validSelfSigned } from './self-signatures.js';

export interface HockeypuckVersion {
  /** registry name */
  name: string;
  /** recon Config version string: Hockeypuck announces SKS's (conflux recon.DefaultVersion) and requires it exactly */
  reconVersion: string;
  /** its filters; announced sorted and comma-joined, compared as one string (conflux recon/peer.go handleConfig) */
  filters: readonly string[];
  limits: ReaderLimits;
  verify: VerifyOptions;
}

/** Hockeypuck 2.2 and 2.3 (hkp/sks/recon.go sksDefaultFilters, always added to the configured ones). */
export const HOCKEYPUCK_2_3: HockeypuckVersion = {
  name: 'hockeypuck',
  reconVersion: '1.1.6',
  filters: [
    'schema:application/pgp-keys', 'yminsky.merge', 'yminsky.dedup', 'versions:34', 'drop:invalidSelfSig',
    'drop:unparseable', 'drop:structuralMartian', 'drop:implausible', 'drop:unbound', 'drop:UAT', 'drop:hardRevokedCruft',
  ],
  limits: HOCKEYPUCK_READER_LIMITS,
  // built with Go 1.23, whose crypto/rsa cannot check a SHA-3 digest
  verify: { rsaSha3: false },
};

/** The filters string as Hockeypuck sends it: sorted byte-wise (Go's sort.Strings), without duplicates, joined. */
export function filtersString(filters: readonly string[]): string {
  return [...new Set(filters)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).join(',');
}

export function hockeypuckProfile(version: HockeypuckVersion = HOCKEYPUCK_2_3): ReconProfile {
  const config = { version: version.reconVersion, filters: filtersString(version.filters) };
  return {
    name: version.name,
    config,
    verifiesSignatures: true,
    normalise(packets: Packet[]): NormaliseOutcome {
      const drops = new DropLog();
      const read = readKeyTree(packets, version.limits, drops);
      if (!read.ok) return read;
      const key = validSelfSigned(read.tree, version.verify, drops);
      if (!key) {
        return { ok: false, reason: 'no-valid-self-signature', detail: `no valid self-signatures (${summarise(drops)})` };
      }
      return { ok: true, key, digest: sksDigest(key), drops: drops.list() };
    },
  };
}

function summarise(drops: DropLog): string {
  return drops.list().map((d) => `${d.rule} ${d.packets}`).join(', ') || 'nothing dropped';
}
