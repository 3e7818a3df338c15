// Preparing a key for the store without the database: canonical form, policy, digest, description. Pure, so the
// bulk loader can run it in worker threads and hand the results to the thread that owns the store.
import type { Packet } from '../openpgp/types.js';
import { TAG } from '../openpgp/types.js';
import { canonicalizeKey } from '../openpgp/merge.js';
import { describeKey, fingerprintOf } from '../openpgp/key.js';
import { writePackets } from '../openpgp/packet.js';
import { sksDigest } from '../openpgp/digest.js';
import { applyPolicy, type Policy } from '../policy.js';
import type { PreparedBlock } from './keystore.js';

/** Fingerprint of a key block's primary key, or undefined if it has none that can be read. */
export function primaryFingerprint(packets: Packet[]): string | undefined {
  const first = packets[0];
  if (!first || (first.tag !== TAG.PUBLIC_KEY && first.tag !== TAG.SECRET_KEY)) return undefined;
  try {
    return fingerprintOf(first.body);
  } catch {
    return undefined;
  }
}

/** Canonicalizes one key, applies policy, computes digest, data and description. Pure (no database), so it can
 * run in worker threads. The blocklist is not checked here: the store does that in addKeyBlocks. */
export function prepareKey(packets: Packet[], policy: Policy): PreparedBlock {
  let fingerprint: string | undefined;
  try {
    if (packets.length === 0) return { ok: false, reason: 'no-primary-key', detail: 'an empty key block' };
    fingerprint = primaryFingerprint(packets);
    let size = 0;
    for (const p of packets) size += p.body.length;
    if (size > policy.maxInputKeyBytes) {
      return {
        ok: false, reason: 'key-too-large', fingerprint,
        detail: `${size} bytes of packets as received, more than max_input_key_bytes ${policy.maxInputKeyBytes}`,
      };
    }
    if (packets[0]!.tag !== TAG.PUBLIC_KEY || packets.some((p) => p.tag === TAG.SECRET_KEY || p.tag === TAG.SECRET_SUBKEY)) {
      // Not a public key at all (secret key, stray packets): policy names the reason before canonical form is tried.
      const refused = applyPolicy(packets, policy);
      if (!refused.ok) return { ok: false, reason: refused.reason, detail: refused.detail, fingerprint };
    }
    const outcome = applyPolicy(canonicalizeKey(packets), policy);
    if (!outcome.ok) return { ok: false, reason: outcome.reason, detail: outcome.detail, fingerprint };
    const info = describeKey(outcome.key);
    return {
      ok: true,
      key: {
        fingerprint: info.fingerprint,
        digest: sksDigest(outcome.key),
        data: writePackets(outcome.key),
        info,
        cuts: outcome.cuts,
        packets: outcome.key,
      },
    };
  } catch (e) {
    return { ok: false, reason: 'malformed', detail: (e as Error).message, fingerprint };
  }
}
