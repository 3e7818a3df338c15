// Blocklist sharing between operators who trust each other (docs/OPERATIONS.md "Signed blocklist"):
// - publish: each entry of our own blocklist, signed with the operator key (blocklist_signing_key), into
//   blocklist_signed_file, which sks-db serves at /pks/blocklist.asc;
// - apply: every push-sync run reads the feeds (blocklist_feeds), and each entry signed by a trusted operator
//   (blocklist_trusted_signers) refuses and removes its key here, with the reason; any other entry is refused and
//   logged. Entries we applied from a feed are not published again as ours (trust is not passed on).
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { signedBlocklist, type Blocklist, type KeyReader, type Logger, type Settings } from '@sks/keystore';
import type { CronContext } from '../context.js';

export type ShareStore = Blocklist & Pick<KeyReader, 'getByFingerprint'>;

/** The reason an applied entry is stored with; also how publishing tells received entries from our own. */
const FROM_FEED = / \(blocklist of [0-9A-F]{40,64}\)$/;
const appliedReason = (reason: string, signer: string) => `${reason} (blocklist of ${signer})`;

/** Signs the entries of our blocklist not signed yet (and drops removed ones); returns how many it holds. */
export async function publishSignedBlocklist(ctx: CronContext, store: ShareStore): Promise<{ entries: number; signed: number } | undefined> {
  const s = ctx.settings;
  if (!s.blocklist_signing_key) return undefined;
  const key = await signedBlocklist.readSigningKey(readFileSync(ctx.base.path(s.blocklist_signing_key), 'utf8'));
  const file = ctx.base.path(s.blocklist_signed_file);
  const before = existsSync(file) ? readFileSync(file, 'utf8') : '';
  // already signed: the text of each signed entry (the signature covers exactly it)
  const signedBefore = new Map<string, string>();
  for (const block of signedBlocklist.splitSignedEntries(before)) {
    const text = /\r?\n\r?\n([\s\S]*?)\r?\n-----BEGIN PGP SIGNATURE-----/.exec(block)?.[1];
    const entry = text ? signedBlocklist.parseEntryText(text) : undefined;
    if (entry) signedBefore.set(`${entry.fingerprint}\n${entry.reason}`, block);
  }
  const own = store.blocklist().filter((e) => !FROM_FEED.test(e.reason));
  let signed = 0;
  const blocks: string[] = [];
  for (const e of own) {
    const entry = { fingerprint: e.fingerprint.toUpperCase(), reason: e.reason.replace(/[\r\n]+/g, ' ').trim(), issued: e.added };
    let block = signedBefore.get(`${entry.fingerprint}\n${entry.reason}`);
    if (!block) {
      block = (await signedBlocklist.signEntry(entry, key)).trimEnd();
      signed++;
    }
    blocks.push(block);
  }
  const text = blocks.map((b) => `${b}\n`).join('\n');
  if (text !== before) {
    writeFileSync(`${file}.tmp`, text);
    renameSync(`${file}.tmp`, file); // readers see the old list or the new one, never half of one
  }
  return { entries: blocks.length, signed };
}

async function readFeed(url: string, s: Settings): Promise<string> {
  const res = await fetch(url, { signal: AbortSignal.timeout(s.sync_timeout_s * 1000), headers: { 'User-Agent': 'sks-ts blocklist feed' } });
  if (res.status === 404) return ''; // nothing published (yet)
  if (!res.ok) throw new Error(`${url} answered ${res.status}`);
  const declared = Number(res.headers.get('content-length') ?? 0);
  if (declared > s.blocklist_feed_max_bytes) throw new Error(`${url} is ${declared} bytes, over blocklist_feed_max_bytes`);
  const body = Buffer.from(await res.arrayBuffer());
  if (body.length > s.blocklist_feed_max_bytes) throw new Error(`${url} is over blocklist_feed_max_bytes`);
  return body.toString('utf8');
}

/** The trusted signers' public keys: from our store by fingerprint, and from blocklist_signers_file. Only keys whose
 * primary fingerprint is in blocklist_trusted_signers are returned, whatever else the file holds. */
async function trustedKeys(ctx: CronContext, store: ShareStore, log: Logger) {
  const s = ctx.settings;
  const wanted = new Set(s.blocklist_trusted_signers.map((f) => f.replace(/\s+/g, '').replace(/^0x/i, '').toUpperCase()));
  const material: Array<string | Uint8Array> = [];
  for (const fpr of wanted) {
    const k = store.getByFingerprint(fpr);
    if (k) material.push(k.data);
  }
  const file = ctx.base.path(s.blocklist_signers_file);
  if (existsSync(file)) material.push(readFileSync(file, 'utf8'));
  const keys = [];
  for (const m of material) {
    try {
      keys.push(...(await signedBlocklist.readTrustedKeys([m])));
    } catch (e) {
      log.warn('a trusted blocklist signer key could not be read', { error: (e as Error).message });
    }
  }
  return keys.filter((k) => wanted.has(k.getFingerprint().toUpperCase()));
}

export interface FeedRun {
  feed: string;
  applied: number;
  alreadyBlocked: number;
  refused: number;
  error?: string;
}

/** Reads every feed and applies the entries a trusted operator signed. */
export async function applyBlocklistFeeds(ctx: CronContext, store: ShareStore): Promise<FeedRun[]> {
  const s = ctx.settings;
  if (s.blocklist_feeds.length === 0) return [];
  const log = ctx.logger;
  const trusted = await trustedKeys(ctx, store, log);
  const runs: FeedRun[] = [];
  for (const feed of s.blocklist_feeds) {
    const run: FeedRun = { feed, applied: 0, alreadyBlocked: 0, refused: 0 };
    runs.push(run);
    let text: string;
    try {
      text = await readFeed(feed, s);
    } catch (e) {
      run.error = (e as Error).message;
      log.warn('blocklist feed unreadable; tried again next run', { feed, error: run.error });
      continue;
    }
    const { accepted, refused } = await signedBlocklist.checkSignedEntries(text, trusted);
    run.refused = refused.length;
    if (refused.length > 0) {
      // bounded: a feed full of forgeries writes one line per run
      log.warn('blocklist feed entries refused (not signed by a trusted operator key)', {
        feed, refused: refused.length, examples: refused.slice(0, 3),
      });
    }
    for (const { entry, signer } of accepted) {
      if (store.isBlocked(entry.fingerprint)) {
        run.alreadyBlocked++;
        continue;
      }
      const removed = store.block(entry.fingerprint, appliedReason(entry.reason, signer));
      run.applied++;
      log.info('blocklist entry applied from a trusted operator', { feed, fingerprint: entry.fingerprint, reason: entry.reason, signer, removed });
    }
  }
  return runs;
}
