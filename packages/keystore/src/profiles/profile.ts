// A recon profile: one way of turning a key into a recon set element. Peers reconcile only when both announce the
// same Config `version` and `filters` strings AND hash keys normalised the same way (SPEC.md §1, §3), so a profile
// holds both: what it announces and the normalisation behind its digest. Pure functions, no database: usable in
// worker threads. The store keeps one digest set per profile it serves (issue 13).
import type { Packet } from '../openpgp/types.js';
import type { PolicyCut, RefusalReason } from '../policy.js';

/** Why a profile refuses a key as a whole: the store's own reasons, and a peer's that it does not share. */
export type ProfileRefusalReason =
  | RefusalReason
  /** the primary key packet is one the peer's OpenPGP library cannot read (it then skips the key) */
  | 'unparseable-primary'
  /** nothing with a valid self-signature is left (Hockeypuck: "no valid self-signatures", ErrKeyEvaporated) */
  | 'no-valid-self-signature';

export type NormaliseOutcome =
  /** `key`: the packets the peer keeps, in their input order; `digest`: SKS's MD5 over them (digest.ts); `drops`:
   * what was removed, by rule. */
  | { ok: true; key: Packet[]; digest: Buffer; drops: PolicyCut[] }
  | { ok: false; reason: ProfileRefusalReason; detail: string };

export interface ReconProfile {
  /** Registry name, as written in `recon_profiles`. */
  readonly name: string;
  /** The recon Config this profile announces and requires of a peer (both compared as exact strings). */
  readonly config: { readonly version: string; readonly filters: string };
  /** Whether its normalisation verifies signatures cryptographically and drops what fails: when such a profile is
   * active, clients are served keys in its form (no packet that fails verification reaches a client). */
  readonly verifiesSignatures: boolean;
  /** One key's packets (a primary key and what follows it, as splitKeys cuts a stream) → what the profile stores and
   * its digest, or why it refuses the key. */
  normalise(packets: Packet[]): NormaliseOutcome;
}

/** Counts removed packets by rule, for NormaliseOutcome.drops. */
export class DropLog {
  private readonly byRule = new Map<string, PolicyCut>();

  add(rule: string, packets: number, detail: string): void {
    if (packets <= 0) return;
    const seen = this.byRule.get(rule);
    if (!seen) this.byRule.set(rule, { rule, packets, detail });
    else {
      seen.packets += packets;
      if (seen.detail.length < 300 && !seen.detail.includes(detail)) seen.detail += `; ${detail}`;
    }
  }

  get total(): number {
    let n = 0;
    for (const c of this.byRule.values()) n += c.packets;
    return n;
  }

  list(): PolicyCut[] {
    return [...this.byRule.values()];
  }
}
