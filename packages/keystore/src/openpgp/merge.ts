// Merging two copies of the same key packet-wise, exactly as SKS does (keyMerge.ml: yminsky.merge, yminsky.dedup).
//
// SKS reads a key with this grammar (anything else makes the key unparseable and SKS drops it):
//   KEY     := primary SIG* COMPONENT* SUBKEY*      (v3 keys: no SUBKEY)
//   COMPONENT := (user ID | user attribute) SIG*
//   SUBKEY  := subkey SIG*
// Packets compare as SKS's OCaml records do: by tag, then body length, then body bytes. That order decides the
// stored byte order; the digest (digest.ts) sorts on its own, so only the multiset of packets matters for recon.
import { TAG, type Packet } from './types.js';

/** Raised for a packet sequence SKS cannot parse as a key (SKS's Unparseable_packet_sequence / Bad_key). */
export class KeyStructureError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KeyStructureError';
  }
}

/** A component (user ID, user attribute or subkey) with the signatures that follow it. */
interface SigPair {
  packet: Packet;
  sigs: Packet[];
}

/** A key split into SKS's parts (keyMerge.ml's pkey). */
export interface KeyParts {
  primary: Packet;
  /** Signatures directly on the primary key (revocations, direct-key signatures). */
  selfsigs: Packet[];
  uids: SigPair[];
  subkeys: SigPair[];
}

/** SKS's packet record order: tag, then length, then bytes. */
export function packetOrder(a: Packet, b: Packet): number {
  return a.tag - b.tag || a.body.length - b.body.length || Buffer.compare(a.body, b.body);
}

function samePacket(a: Packet, b: Packet): boolean {
  return a.tag === b.tag && a.body.equals(b.body);
}

/** Utils.dedup: sorted, without duplicates. */
function dedup(packets: Packet[]): Packet[] {
  const sorted = [...packets].sort(packetOrder);
  const out: Packet[] = [];
  for (const p of sorted) if (out.length === 0 || !samePacket(out[out.length - 1]!, p)) out.push(p);
  return out;
}

/** Splits a key into its parts; throws KeyStructureError where SKS would find it unparseable. Trust packets
 * (local to a keyring) are ignored. */
export function keyParts(key: Packet[]): KeyParts {
  const packets = key.filter((p) => p.tag !== TAG.TRUST);
  const primary = packets[0];
  if (!primary || primary.tag !== TAG.PUBLIC_KEY) throw new KeyStructureError('a key must start with a public key packet');
  const version = primary.body[0];
  if (version !== 2 && version !== 3 && version !== 4 && version !== 6) {
    throw new KeyStructureError(`unsupported public key version ${version}`);
  }
  let i = 1;
  const sigs = (): Packet[] => {
    const out: Packet[] = [];
    while (i < packets.length && packets[i]!.tag === TAG.SIGNATURE) out.push(packets[i++]!);
    return out;
  };
  const selfsigs = sigs();
  const uids: SigPair[] = [];
  while (i < packets.length && (packets[i]!.tag === TAG.USER_ID || packets[i]!.tag === TAG.USER_ATTRIBUTE)) {
    const packet = packets[i++]!;
    uids.push({ packet, sigs: sigs() });
  }
  const subkeys: SigPair[] = [];
  if (version === 4 || version === 6) {
    while (i < packets.length && packets[i]!.tag === TAG.PUBLIC_SUBKEY) {
      const packet = packets[i++]!;
      subkeys.push({ packet, sigs: sigs() });
    }
  }
  if (i < packets.length) {
    throw new KeyStructureError(`unexpected packet (tag ${packets[i]!.tag}) at position ${i} of the key`);
  }
  return { primary, selfsigs, uids, subkeys };
}

export function flattenParts(k: KeyParts): Packet[] {
  // Loops, not push(...sigs): a flooded user ID holds more signatures than a call may take arguments.
  const out = [k.primary, ...k.selfsigs];
  for (const c of [...k.uids, ...k.subkeys]) {
    out.push(c.packet);
    for (const sig of c.sigs) out.push(sig);
  }
  return out;
}

/** Groups components by packet. A component seen once keeps its signatures as they were; one seen more than once
 * gets the deduplicated union (keyMerge.ml's dedup_sigpairs / merge_sigpairs). Result in ascending packet order. */
function groupPairs(pairs: SigPair[]): SigPair[] {
  const byPacket = new Map<string, SigPair>();
  for (const { packet, sigs } of pairs) {
    const k = `${packet.tag}:${packet.body.toString('latin1')}`;
    const seen = byPacket.get(k);
    byPacket.set(k, seen ? { packet: seen.packet, sigs: dedup([...sigs, ...seen.sigs]) } : { packet, sigs });
  }
  return [...byPacket.values()].sort((a, b) => packetOrder(a.packet, b.packet));
}

/** Canonical form of one key as SKS stores it (dedup'd, trust packets dropped). Throws KeyStructureError for
 * packet sequences SKS would refuse. */
export function canonicalizeKey(key: Packet[]): Packet[] {
  const k = keyParts(key);
  return flattenParts({
    primary: k.primary,
    selfsigs: dedup(k.selfsigs),
    uids: groupPairs(k.uids),
    subkeys: groupPairs(k.subkeys),
  });
}

/** Merges two copies of the same primary key (same primary key packet), as SKS's KeyMerge.merge: the primary's
 * signatures and every shared component's signatures are unioned; SKS lists components in descending order after
 * a merge, which we keep so stored bytes match SKS's. Throws if the primary keys differ. */
export function mergeKeys(a: Packet[], b: Packet[]): Packet[] {
  const ka = keyParts(a);
  const kb = keyParts(b);
  if (!samePacket(ka.primary, kb.primary)) throw new KeyStructureError('cannot merge keys with different primary key packets');
  return flattenParts({
    primary: ka.primary,
    selfsigs: dedup([...ka.selfsigs, ...kb.selfsigs]),
    uids: groupPairs([...ka.uids, ...kb.uids]).reverse(),
    subkeys: groupPairs([...ka.subkeys, ...kb.subkeys]).reverse(),
  });
}
