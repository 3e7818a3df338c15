// A stored key as each other recon profile sees it. The store keeps every key once, in the `sks` profile's form
// (SKS merge plus our policy, the `keys` table); another profile's normalisation only ever removes packets (its
// kept packets are a subset of the stored ones, checked below), so its form is stored as the indexes of the packets
// it drops, beside its digest. Pure: the loader's worker threads run it with prepareKey.
import type { Packet } from '../openpgp/types.js';
import { PacketError, headerProblem, packetSpan } from '../openpgp/packet.js';
import type { Policy } from '../policy.js';
import type { ReconProfile } from '../profiles/profile.js';
import { reconProfiles } from '../profiles/registry.js';
import type { ProfileForm } from './types.js';

const cache = new Map<string, ReconProfile[]>();

/** The active profiles other than `sks` (whose set is the keys table itself), in the order configured. */
export function extraProfiles(policy: Policy): ReconProfile[] {
  const names = (policy.reconProfiles ?? ['sks']).filter((n) => n !== 'sks');
  if (names.length === 0) return [];
  const id = names.join(',');
  let list = cache.get(id);
  if (!list) cache.set(id, (list = reconProfiles(names, { policy })));
  return list;
}

/** Each extra profile's form of a stored key (`packets`: the key as stored, in stored order). */
export function profileForms(packets: Packet[], policy: Policy): ProfileForm[] | undefined {
  const profiles = extraProfiles(policy);
  if (profiles.length === 0) return undefined;
  return profiles.map((p) => profileForm(p, packets));
}

export function profileForm(profile: ReconProfile, packets: Packet[]): ProfileForm {
  let outcome;
  try {
    outcome = profile.normalise(packets);
  } catch (e) {
    return { profile: profile.name, digest: null, dropped: null, refusal: `normalisation failed: ${(e as Error).message}` };
  }
  if (!outcome.ok) return { profile: profile.name, digest: null, dropped: null, refusal: `${outcome.reason}: ${outcome.detail}` };
  // Packets are matched by their body's identity: a profile passes on the objects it keeps.
  const kept = new Set(outcome.key.map((p) => p.body));
  if (kept.size === packets.length && packets.every((p) => kept.has(p.body))) {
    return { profile: profile.name, digest: outcome.digest, dropped: null };
  }
  const dropped: number[] = [];
  packets.forEach((p, i) => {
    if (!kept.delete(p.body)) dropped.push(i);
  });
  // Every kept packet must be one of the stored ones (by identity): a profile that rewrote a packet could not be
  // served from the stored bytes, so the key is left out of its set rather than served wrong.
  if (kept.size > 0) {
    return { profile: profile.name, digest: null, dropped: null, refusal: `profile ${profile.name} changed packets instead of dropping them` };
  }
  const buf = Buffer.allocUnsafe(dropped.length * 4);
  dropped.forEach((d, i) => buf.writeUInt32BE(d, i * 4));
  return { profile: profile.name, digest: outcome.digest, dropped: buf };
}

/** The packets of `data` without those at the indexes in `dropped` (32-bit big-endian each), as binary again. */
export function keepPackets(data: Buffer, dropped: Buffer | null): Buffer {
  if (!dropped || dropped.length === 0) return data;
  const skip = new Set<number>();
  for (let o = 0; o + 4 <= dropped.length; o += 4) skip.add(dropped.readUInt32BE(o));
  // Only the packets' boundaries are read; their bytes are copied as stored, headers included.
  const parts: Buffer[] = [];
  for (let offset = 0, i = 0; offset < data.length; i++) {
    const span = packetSpan(data, offset, data.length);
    if (span < 0 || offset + span > data.length) throw new PacketError(headerProblem(span, data, offset), offset);
    if (!skip.has(i)) parts.push(data.subarray(offset, offset + span));
    offset += span;
  }
  return Buffer.concat(parts);
}
