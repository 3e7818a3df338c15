// How Hockeypuck reads one key before judging its signatures: the reader's size limits (openpgp/io.go
// OpaqueKeyReader.Read) and the walk that hangs each packet on its user ID or subkey (OpaqueCert.Parse). Anything
// its OpenPGP library cannot read is dropped here, and so is what follows a packet it does not keep.
import { TAG, type Packet } from '../../openpgp/types.js';
import { readPublicKey, type PublicKeyMaterial } from '../../openpgp/verify/key-material.js';
import { readSignature, type SignaturePacket } from '../../openpgp/verify/signature-packet.js';
import type { DropLog, NormaliseOutcome } from '../profile.js';

/** Hockeypuck's default reader limits (server/settings.go DefaultMaxPacketLength, DefaultMaxKeyLength): a packet
 * body over maxPacketBytes is dropped, a key whose kept packet bodies sum to more than maxKeyBytes is refused. */
export interface ReaderLimits {
  maxPacketBytes: number;
  maxKeyBytes: number;
}

export const HOCKEYPUCK_READER_LIMITS: ReaderLimits = { maxPacketBytes: 8192, maxKeyBytes: 1_048_576 };

export interface SignedPacket {
  packet: Packet;
  sig: SignaturePacket;
}

export interface UserIdNode {
  packet: Packet;
  sigs: SignedPacket[];
}

export interface SubkeyNode {
  packet: Packet;
  key: PublicKeyMaterial;
  sigs: SignedPacket[];
}

/** A key as Hockeypuck holds it after reading (its PrimaryKey): signatures hang on the primary, a user ID or a
 * subkey. */
export interface KeyTree {
  packet: Packet;
  key: PublicKeyMaterial;
  sigs: SignedPacket[];
  uids: UserIdNode[];
  subkeys: SubkeyNode[];
}

export type ReadOutcome = { ok: true; tree: KeyTree } | Extract<NormaliseOutcome, { ok: false }>;

const DROP_BY_TAG: Readonly<Record<number, string>> = { [TAG.USER_ATTRIBUTE]: 'UAT', [TAG.TRUST]: 'trust', 10: 'marker' };

/** Reads one key's packets as Hockeypuck does, logging what it drops (rule names as in Hockeypuck's recon filters
 * where there is one). */
export function readKeyTree(packets: Packet[], limits: ReaderLimits, drops: DropLog): ReadOutcome {
  const first = packets[0];
  if (!first || first.tag !== TAG.PUBLIC_KEY) {
    return { ok: false, reason: 'no-primary-key', detail: first ? `key starts with packet tag ${first.tag}` : 'no packets' };
  }
  // Oversized packets never reach the parser. An oversized primary key packet would leave the rest of the key to the
  // key before it in Hockeypuck's stream; alone, the key is gone.
  if (first.body.length > limits.maxPacketBytes) {
    return { ok: false, reason: 'primary-packet-too-large', detail: `primary key packet of ${first.body.length} bytes, over ${limits.maxPacketBytes}` };
  }
  const primary = readPublicKey(first.body);
  if (!primary.ok) return { ok: false, reason: 'unparseable-primary', detail: `primary key: ${primary.error}` };
  let size = first.body.length;
  const kept: Packet[] = [];
  for (let i = 1; i < packets.length; i++) {
    const p = packets[i]!;
    if (p.body.length > limits.maxPacketBytes) {
      drops.add('oversize_packet', 1, `tag ${p.tag} packet of ${p.body.length} bytes`);
      continue;
    }
    size += p.body.length;
    kept.push(p);
  }
  if (size > limits.maxKeyBytes) {
    return { ok: false, reason: 'key-too-large', detail: `${size} bytes of packets, over Hockeypuck's maxKeyLength ${limits.maxKeyBytes}` };
  }

  const tree: KeyTree = { packet: first, key: primary.key, sigs: [], uids: [], subkeys: [] };
  // Where a signature goes: the primary, the last user ID or subkey read, or nowhere after a packet it does not keep.
  let context: { sigs: SignedPacket[] } | null = tree;
  // Tag of the last packet that is not a signature, to name why a signature without a place is dropped.
  let lastTag: number = TAG.PUBLIC_KEY;
  for (const p of kept) {
    if (p.tag !== TAG.SIGNATURE) lastTag = p.tag;
    switch (p.tag) {
      case TAG.SIGNATURE: {
        if (!context) {
          drops.add(lastTag === TAG.USER_ATTRIBUTE ? 'UAT' : 'unparseable', 1, `signature after a dropped tag ${lastTag} packet`);
          break;
        }
        const read = readSignature(p.body);
        if (!read.ok) drops.add('unparseable', 1, `signature: ${read.error}`);
        // Hockeypuck needs the issuer to tell self-signatures (signature.go setSignature)
        else if (!read.sig.issuerKeyId) drops.add('unparseable', 1, 'signature: missing issuer key ID');
        else context.sigs.push({ packet: p, sig: read.sig });
        break;
      }
      case TAG.USER_ID:
        // CleanUtf8 refuses a NUL (strings.go): the user ID and its signatures go
        if (p.body.includes(0)) {
          drops.add('unparseable', 1, 'user ID with a NUL byte');
          context = null;
        } else {
          const uid: UserIdNode = { packet: p, sigs: [] };
          tree.uids.push(uid);
          context = uid;
        }
        break;
      case TAG.PUBLIC_SUBKEY: {
        const sub = readPublicKey(p.body);
        if (!sub.ok) {
          drops.add('unparseable', 1, `subkey: ${sub.error}`);
          context = null;
        } else {
          const node: SubkeyNode = { packet: p, key: sub.key, sigs: [] };
          tree.subkeys.push(node);
          context = node;
        }
        break;
      }
      case 10:
        // a marker packet is dropped and changes nothing around it
        drops.add('marker', 1, 'marker packet');
        break;
      default:
        // user attributes, trust packets and anything unknown: dropped, with the signatures that follow
        drops.add(DROP_BY_TAG[p.tag] ?? `unsupported_tag_${p.tag}`, 1, `tag ${p.tag} packet`);
        context = null;
    }
  }
  return { ok: true, tree };
}
