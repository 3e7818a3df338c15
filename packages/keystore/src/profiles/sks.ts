// The `sks` profile: SKS 1.1.6's recon Config and what the store does today, SKS's merge and dedup (canonicalizeKey)
// then our policy (applyPolicy), digest by SKS's rule (sksDigest). SKS itself verifies no signature (SPEC.md §6).
// The cap on a key's size as received (max_input_key_bytes) is checked where bytes arrive, as before.
import { TAG, type Packet } from '../openpgp/types.js';
import { canonicalizeKey, KeyStructureError } from '../openpgp/merge.js';
import { sksDigest } from '../openpgp/digest.js';
import { PacketError } from '../openpgp/packet.js';
import { applyPolicy, type Policy } from '../policy.js';
import type { NormaliseOutcome, ReconProfile } from './profile.js';

/** SKS's Config strings (reconCS.ml; SPEC.md §3). */
export const SKS_CONFIG = { version: '1.1.6', filters: 'yminsky.dedup,yminsky.merge' } as const;

export function sksProfile(policy: Policy): ReconProfile {
  return {
    name: 'sks',
    config: SKS_CONFIG,
    verifiesSignatures: false,
    normalise(packets: Packet[]): NormaliseOutcome {
      try {
        if (packets[0]?.tag !== TAG.PUBLIC_KEY || packets.some((p) => p.tag === TAG.SECRET_KEY || p.tag === TAG.SECRET_SUBKEY)) {
          // not a public key: policy names why before canonical form is tried (as the store does)
          const refused = applyPolicy(packets, policy);
          if (!refused.ok) return refused;
        }
        const outcome = applyPolicy(canonicalizeKey(packets), policy);
        if (!outcome.ok) return outcome;
        return { ok: true, key: outcome.key, digest: sksDigest(outcome.key), drops: outcome.cuts };
      } catch (e) {
        if (e instanceof KeyStructureError || e instanceof PacketError) return { ok: false, reason: 'malformed', detail: e.message };
        throw e;
      }
    },
  };
}
