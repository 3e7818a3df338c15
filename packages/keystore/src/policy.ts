// Flooded-key defence (CVE-2019-13050) and other refusals, applied on every path (load, add, recon).
// OWNER: keystore-openpgp helper.
import type { Packet } from './openpgp/types.js';
import type { Settings } from './config/settings.js';

export interface Policy {
  maxKeyBytes: number;
  maxInputKeyBytes: number;
  maxPacketBytes: number;
  maxCertsPerUid: number;
  dropUserAttributes: boolean;
}

export function policyFromSettings(s: Settings): Policy {
  return {
    maxKeyBytes: s.max_key_bytes,
    maxInputKeyBytes: s.max_input_key_bytes,
    maxPacketBytes: s.max_packet_bytes,
    maxCertsPerUid: s.max_certs_per_uid,
    dropUserAttributes: s.drop_user_attributes,
  };
}

/** What policy removed from a key, for the record (stored with the key and logged). */
export interface PolicyCut {
  /** e.g. 'certs-per-uid', 'packet-too-large', 'user-attribute'. */
  rule: string;
  /** How many packets that rule removed. */
  packets: number;
  detail: string;
}

export type PolicyOutcome =
  | { ok: true; key: Packet[]; cuts: PolicyCut[] }
  | { ok: false; reason: RefusalReason; detail: string };

/** Why a key is refused as a whole. */
export type RefusalReason =
  | 'secret-key'
  | 'key-too-large'
  | 'primary-packet-too-large'
  | 'malformed'
  | 'no-primary-key'
  | 'unsupported-version'
  | 'blocklisted';

/** Applies the policy to one canonical key. Deterministic: the same input always gives the same packets, so two
 * servers with the same policy compute the same digest. Blocklist is checked by the store, not here. */
export function applyPolicy(key: Packet[], policy: Policy): PolicyOutcome {
  throw new Error('not implemented');
}
