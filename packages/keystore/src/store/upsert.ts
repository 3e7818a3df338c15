// The decisions of a write, independent of the database: blocklist, canonical form and policy, merging with the
// stored copy, policy again on the merged key. A backend supplies the rows through UpsertTxn (inside its one write
// transaction); two backends given the same keys therefore store the same bytes and digests.
import type { KeyInfo, Packet } from '../openpgp/types.js';
import { readPackets, writePackets } from '../openpgp/packet.js';
import { describeKey } from '../openpgp/key.js';
import { mergeKeys } from '../openpgp/merge.js';
import { sksDigest } from '../openpgp/digest.js';
import { applyPolicy, type Policy, type PolicyCut } from '../policy.js';
import { prepareKey, primaryFingerprint, storedForm } from './prepare.js';
import { keySummary, type KeySummary } from './summary.js';
import type { PreparedBlock, ProfileForm, StoredForm, WriteOutcome } from './types.js';
import { extraProfiles, profileForms } from './profile-forms.js';

/** What upsertOne needs of the backend, all inside one write transaction. */
export interface UpsertTxn {
  /** The caller counts outcomes only: an inserted key may return the shared INSERTED outcome. */
  readonly countsOnly: boolean;
  isBlocked(fpr: Buffer): boolean;
  /** The stored row of this primary fingerprint. */
  find(fpr: Buffer): { id: number; digest: Buffer } | undefined;
  storedCopy(id: number): { data: Buffer; cuts: PolicyCut[] };
  /** Stores a new key (rows, indexes, change log, recon set, count). False: another key has this digest. */
  insert(fpr: Buffer, digest: Buffer, form: StoredForm, data: Buffer, cuts: PolicyCut[] | undefined,
    profiles: ProfileForm[] | undefined): boolean;
  /** Replaces a stored key by its merged form. False: another key has the new digest. */
  replace(id: number, fpr: Buffer, oldDigest: Buffer,
    next: { digest: Buffer; version: number; data: Buffer; cuts: PolicyCut[]; profiles?: ProfileForm[]; summary: KeySummary },
    before: KeyInfo, after: KeyInfo): boolean;
  /** The stored key's digest in each other recon profile set that holds it (undefined: no such sets). */
  profileDigests(id: number): Record<string, string> | undefined;
}

/** The outcome of every inserted key when only counts are wanted (no per-key object or strings in a bulk load). */
const INSERTED: WriteOutcome = Object.freeze({ status: 'inserted' });

const BLOCKED = 'the key is on this server\'s blocklist';
const SAME_DIGEST = 'another stored key has the same digest';

export function toBuffer(u: Uint8Array): Buffer {
  return Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}

/** Adds cut records of the same rule together. */
export function combineCuts(...lists: PolicyCut[][]): PolicyCut[] {
  const byRule = new Map<string, PolicyCut>();
  for (const list of lists) {
    for (const c of list) {
      const had = byRule.get(c.rule);
      if (had) byRule.set(c.rule, { rule: c.rule, packets: had.packets + c.packets, detail: `${had.detail}; ${c.detail}` });
      else byRule.set(c.rule, { ...c });
    }
  }
  return [...byRule.values()];
}

/** Counts an outcome as the load progress does: by status, and refusals also by reason. */
export function countOutcome(counts: Record<string, number>, o: WriteOutcome): void {
  counts[o.status] = (counts[o.status] ?? 0) + 1;
  if (o.status === 'rejected') {
    const k = `rejected:${o.reason ?? 'unknown'}`;
    counts[k] = (counts[k] ?? 0) + 1;
  }
}

export function tallyOutcomes(outcomes: WriteOutcome[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const o of outcomes) countOutcome(counts, o);
  return counts;
}

/** The SKS digest of a key as offered (what a peer that sent these bytes holds it by). */
function offeredDigestOf(packets: Packet[]): string | undefined {
  try {
    return sksDigest(packets).toString('hex');
  } catch {
    return undefined;
  }
}

/** A key made ready for upsertOne without the database: its prepared block, the digest it was offered under and
 * the primary fingerprint it names (for the blocklist, even when the key is refused). */
export interface UpsertInput {
  block: PreparedBlock;
  offeredDigest?: string;
  primary?: string;
}

/** Everything of a write that needs no database — parsing, canonical form, policy, digest — done before the write
 * transaction, so a huge or hostile key costs its uploader time, not every other writer's (the lock is not held). */
export function prepareInput(input: Packet[] | PreparedBlock, policy: Policy, countsOnly: boolean): UpsertInput {
  if (!Array.isArray(input)) return { block: input };
  return {
    block: prepareKey(input, policy),
    offeredDigest: countsOnly ? undefined : offeredDigestOf(input),
    primary: primaryFingerprint(input),
  };
}

/** Stores one prepared key inside the backend's transaction. Everything that can fail for a reason of the key itself
 * was decided before; a failure of the backend aborts the whole transaction. */
export function upsertOne(input: UpsertInput, tx: UpsertTxn, policy: Policy): WriteOutcome {
  const { block, offeredDigest, primary } = input;
  if (primary !== undefined && tx.isBlocked(Buffer.from(primary, 'hex'))) {
    return { status: 'rejected', fingerprint: primary, offeredDigest, reason: 'blocklisted', detail: BLOCKED };
  }
  if (!block.ok) return { status: 'rejected', fingerprint: block.fingerprint, offeredDigest, reason: block.reason, detail: block.detail };
  const key = block.key;
  const fingerprint = key.fingerprint.toUpperCase();
  const fpr = key.fprBytes ? toBuffer(key.fprBytes) : Buffer.from(key.fingerprint, 'hex');
  if (tx.isBlocked(fpr)) return { status: 'rejected', fingerprint, offeredDigest, reason: 'blocklisted', detail: BLOCKED };
  const digest = toBuffer(key.digest);
  const head = tx.find(fpr);

  if (!head) {
    if (!key.stored && !key.info) throw new TypeError('a prepared key needs info or stored');
    const cuts = key.cuts.length > 0 ? key.cuts : undefined;
    // prepared with another list of profiles (or none): computed here, under the lock
    const forms = key.profiles ?? (extraProfiles(policy).length > 0
      ? profileForms(key.packets ?? readPackets(toBuffer(key.data)), policy) : undefined);
    if (!tx.insert(fpr, digest, key.stored ?? storedForm(key.info!, key.packets ?? readPackets(toBuffer(key.data)), key.data, policy.wordIndexMaxChars), toBuffer(key.data), cuts, forms)) {
      return { status: 'rejected', fingerprint, offeredDigest, reason: 'malformed', detail: SAME_DIGEST };
    }
    if (tx.countsOnly) return INSERTED;
    return { status: 'inserted', fingerprint, offeredDigest, digest: digest.toString('hex'), cuts, profileDigests: formDigests(forms) };
  }

  const oldDigest = head.digest.toString('hex');
  const unchanged = (): WriteOutcome => ({
    status: 'unchanged', fingerprint, offeredDigest, digest: oldDigest, profileDigests: tx.countsOnly ? undefined : tx.profileDigests(head.id),
  });
  if (head.digest.equals(digest)) return unchanged();

  // Merge with the stored copy, then apply policy again to the merged key (deterministic, so peers agree).
  const stored = tx.storedCopy(head.id);
  let merged: { packets: Packet[]; info: KeyInfo; digest: Buffer; cuts: PolicyCut[] };
  let oldInfo: KeyInfo;
  try {
    const incoming = key.packets?.map((p) => ({ tag: p.tag, body: toBuffer(p.body) })) ?? readPackets(toBuffer(key.data));
    const storedPackets = readPackets(stored.data);
    oldInfo = describeKey(storedPackets);
    const outcome = applyPolicy(mergeKeys(storedPackets, incoming), policy);
    if (!outcome.ok) {
      return { status: 'rejected', fingerprint, offeredDigest, reason: outcome.reason, detail: `merged with the stored copy: ${outcome.detail}` };
    }
    merged = { packets: outcome.key, info: describeKey(outcome.key), digest: sksDigest(outcome.key), cuts: outcome.cuts };
  } catch (e) {
    return { status: 'rejected', fingerprint, offeredDigest, reason: 'malformed', detail: `merging with the stored copy failed: ${(e as Error).message}` };
  }
  if (merged.digest.equals(head.digest)) return unchanged();

  const cuts = combineCuts(stored.cuts, key.cuts, merged.cuts);
  const profiles = profileForms(merged.packets, policy);
  const data = writePackets(merged.packets);
  const next = { digest: merged.digest, version: merged.info.version, data, cuts, profiles, summary: keySummary(merged.info, merged.packets, data) };
  if (!tx.replace(head.id, fpr, head.digest, next, oldInfo, merged.info)) {
    return { status: 'rejected', fingerprint, offeredDigest, reason: 'malformed', detail: SAME_DIGEST };
  }
  const newCuts = combineCuts(key.cuts, merged.cuts);
  return {
    status: 'updated', fingerprint, offeredDigest, digest: merged.digest.toString('hex'), oldDigest,
    cuts: newCuts.length > 0 ? newCuts : undefined, profileDigests: formDigests(profiles),
  };
}

function formDigests(forms: ProfileForm[] | undefined): Record<string, string> | undefined {
  if (!forms) return undefined;
  const out: Record<string, string> = {};
  for (const f of forms) if (f.digest) out[f.profile] = toBuffer(f.digest).toString('hex');
  return out;
}
