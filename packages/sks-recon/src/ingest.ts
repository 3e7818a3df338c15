// Recon ingest: the keys a peer served for a batch of digests go into the store in one upsert, and each digest we
// still do not hold afterwards is explained by the outcome of its own key. Only a real refusal (our policy, an
// unreadable key, a key the peer did not serve) is returned for the refused-digest memory; a store that cannot
// work (StoreUnavailableError, or any other failure of ours) ends the batch with nothing remembered, so the same
// digests are fetched again at the next session.
import { readPackets, splitKeys, type KeyReader, type KeyWriter, type Packet, type WriteOutcome } from '@sks/keystore';
import { recordWrites } from '@sks/service';

/** Longest explanation kept per refused digest. */
const MAX_REASON_CHARS = 300;

export interface IngestResult {
  /** Keys inserted or updated. */
  stored: number;
  /** Digests of the batch we do not hold afterwards, with why. */
  refused: Array<{ digest: Buffer; reason: string }>;
}

/** Stores the keys `served` for the digests `asked` (one transaction, its pages read ahead). Throws what the store
 * threw when it could not work; nothing is then written and nothing is to be remembered. */
export async function ingestBatch(store: KeyWriter & Pick<KeyReader, 'getByFingerprint'>, asked: Buffer[], served: Buffer[],
  profile = 'sks'): Promise<IngestResult> {
  const unreadable = new Map<number, string>();
  const blocks: Packet[][] = [];
  for (const [i, key] of served.entries()) {
    try {
      // A string of the answer normally holds one key; one holding several keys is stored whole all the same.
      for (const block of splitKeys(readPackets(key))) blocks.push(block);
    } catch (e) {
      unreadable.set(i, `unreadable key: ${(e as Error).message}`);
    }
  }
  const outcomes = blocks.length > 0 ? await store.upsertPrefetched(blocks, 'recon') : [];
  recordWrites('recon', outcomes);

  const held = new Set<string>();
  const byOffered = new Map<string, WriteOutcome[]>();
  let stored = 0;
  for (const o of outcomes) {
    if (o.status === 'inserted' || o.status === 'updated') stored++;
    const digest = heldAs(o, profile);
    if (o.status !== 'rejected' && digest) held.add(digest);
    if (o.offeredDigest) byOffered.set(o.offeredDigest, [...(byOffered.get(o.offeredDigest) ?? []), o]);
  }
  const refused: IngestResult['refused'] = [];
  for (const d of asked) {
    const hex = d.toString('hex');
    if (held.has(hex)) continue;
    const mine = byOffered.get(hex);
    const reason = mine ? explain(store, mine, profile)
      : unreadable.size > 0 ? `the peer served ${unreadable.size} unreadable key(s) in this batch: ${[...unreadable.values()][0]}`
      : served.length < asked.length ? 'not served by the peer'
      : 'stored under another digest';
    refused.push({ digest: d, reason: reason.slice(0, MAX_REASON_CHARS) });
  }
  return { stored, refused };
}

/** The digest a written key is held under in the set of the peer's profile (that profile's digest of the stored key). */
function heldAs(o: WriteOutcome, profile: string): string | undefined {
  return profile === 'sks' ? o.digest : o.profileDigests?.[profile];
}

/** Why a fetched key is not held under the peer's digest: refused, or cut or merged by our policy. */
function explain(store: Pick<KeyReader, 'getByFingerprint'>, outcomes: WriteOutcome[], profile: string): string {
  const parts: string[] = [];
  for (const o of outcomes) {
    if (o.status === 'rejected') {
      parts.push(`${o.reason ?? 'rejected'}: ${o.detail ?? ''}`.trim());
      continue;
    }
    if (profile !== 'sks' && o.profileDigests && o.profileDigests[profile] === undefined) {
      parts.push(`the ${profile} profile refuses the key as stored`);
      continue;
    }
    const cuts = o.cuts ?? (o.fingerprint ? store.getByFingerprint(o.fingerprint)?.cuts : undefined) ?? [];
    if (cuts.length > 0) parts.push(cuts.map((c) => `cut by policy: ${c.rule} (${c.detail})`).join('; '));
    else parts.push(`merged with our copy into ${profile} digest ${heldAs(o, profile) ?? '?'}`);
  }
  return parts.join('; ') || 'no key in the answer';
}
