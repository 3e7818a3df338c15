// GET /pks/lookup: the HKP queries GnuPG, browsers and peers send (HKP draft §3, SKS request.ml + dbserver.ml).
// Requests are parsed by @sks/hkp (lookup-request.ts), which also says what a search term may be.
//
// v6 keys (RFC 9580) and legacy clients: GnuPG 2.2 refuses a whole op=get answer when one key in it is v6. The rule:
// op=get (and op=index/vindex) leave v6 keys out unless the search names the key by its 64-hex v6 fingerprint; a
// client that asks by a v6 fingerprint can read v6. op=hget (by digest) and the VKS API always serve what is asked.
import type { ServerResponse } from 'node:http';
import {
  armorBytes, armorFrame, armorInto, armoredLength, crc24, keyFacts, keyListing, listingSigners, readPacketAt, type IndexEntry, type KeyFacts, type KeyPackets, type StoredKey,
  type StoredListing, type ArmorFrame,
} from '@sks/keystore';
import { classifySearch, gnupgIndexSearch, mrIndexRequest, parseLookup, type LookupRequest, type Query, type SearchTerm } from '@sks/hkp';
import type { DbContext, LookupAnswer } from './context.js';
import { HttpError, htmlQuote, page, sendSks, type SksReply } from './http-util.js';
import { pageAround } from './layout.js';
import { LISTING_END, htmlIndexText, htmlVindexText, listingHead, mrKeyText } from './index-format.js';
import { keyCards, resultSummary } from './key-cards.js';
import { statsReply } from './stats.js';

/** What a search found: at most `cap` keys (or their index entries), and how many match in all. */
interface Found<K> {
  keys: K[];
  total: number;
}

/** Finds the keys a search term names. `cap` bounds the work; `total` says how many exist in all. `summary: false`:
 * the caller needs the packets only (op=get, and the HTML listings, which describe the packets), so a key by
 * fingerprint is read without its stored summary (the mr lines, which only the mr index sends). */
export function findKeys(ctx: DbContext, term: SearchTerm, cap: number, exact: boolean, countUpTo = -1, summary = true): Found<StoredKey> {
  // Counting stops at countUpTo: a common word may be in millions of keys, and we only need to know "more than".
  if (term.kind === 'text') return ctx.store.searchText(term.text, cap, exact, countUpTo);
  if (term.kind === 'fingerprint' && (term.hex.length === 40 || term.hex.length === 64)) {
    const k = ctx.store.getByFingerprint(term.hex, { summary });
    if (k) return { keys: [k], total: 1 };
  }
  // Short/long key IDs, v3 fingerprints and subkey fingerprints.
  const keys = ctx.store.findByKeyId(term.hex, cap + 1);
  return { keys: keys.slice(0, cap), total: keys.length };
}

/** The mr index entries (stored summaries, no packets read) of the keys findKeys finds; undefined when the store
 * serves another form of its keys than it stores (then findKeys). */
function findIndexEntries(ctx: DbContext, term: SearchTerm, cap: number, countUpTo: number): Found<IndexEntry> | undefined {
  if (term.kind === 'text') {
    const found = ctx.store.indexEntriesByText(term.text, cap, countUpTo);
    return found && { keys: found.entries, total: found.total };
  }
  const entries = ctx.store.indexEntriesByKeyId(term.hex, cap + 1);
  return entries && { keys: entries.slice(0, cap), total: entries.length };
}

/** Keys newest first (by the primary key's creation, then fingerprint), as SKS lists every multi-key answer: a
 * client that takes the first key of an answer gets the same key from us as from SKS. */
export function newestFirst<K extends { fingerprint: string }>(keys: K[], createdOf: (k: K) => number): K[] {
  if (keys.length < 2) return keys;
  const created = new Map(keys.map((k) => [k, createdOf(k)]));
  return [...keys].sort((a, b) => created.get(b)! - created.get(a)! || (a.fingerprint < b.fingerprint ? -1 : 1));
}

/** The primary key's creation time (KeyInfo.created), read from its packet: every key version (3, 4, 6) has it in
 * the four bytes after the version byte. Describing each key to sort an mr index cost more than writing it. */
function createdOf(k: StoredKey): number {
  const body = readPacketAt(k.data, 0)?.packet.body;
  return body && body.length >= 5 ? body.readUInt32BE(1) : k.info.created;
}

/** Applies the v6 rule above. */
export function legacyVisible<K extends { version: number }>(keys: K[], term: SearchTerm): K[] {
  if (term.kind === 'fingerprint' && term.hex.length === 64) return keys;
  return keys.filter((k) => k.version !== 6);
}

function describe(search: string): string {
  return `"${search}"`;
}

/** The last single key armored in this worker, for the same database version: on node's http path an uncached
 * op=get computes its answer (which armors the key it found) and then sends the armor by digest (armoredKeyBody);
 * with the per-key cache off or the key too large for it, that read the key and armored it again. One request now
 * reads and armors a key once. (The lookup front computes whole replies without it: lookupReply(..., false).) */
const lastArmor = new WeakMap<DbContext, { version: number; digest: string; body: Buffer }>();

/** The keys ASCII-armored in one block, as SKS sends them. A single key's armor is cached by its digest. */
export function armoredKeys(ctx: DbContext, keys: StoredKey[]): Buffer {
  if (keys.length !== 1) return armorKeys(ctx, keys);
  const digest = keys[0]!.digest;
  const body = ctx.answers.get(`a:${digest}`, () => armorKeys(ctx, keys)) as Buffer;
  lastArmor.set(ctx, { version: ctx.dataVersion(), digest, body });
  return body;
}

function armorKeys(ctx: DbContext, keys: StoredKey[]): Buffer {
  // one key: its checksum as stored with it (no pass over the bytes besides the base64)
  if (keys.length === 1) return armorOne(ctx, keys[0]!);
  return armorWith(ctx, Buffer.concat(keys.map((k) => k.data)));
}

function armorOne(ctx: DbContext, key: KeyPackets): Buffer {
  return armorWith(ctx, key.data, key.crc);
}

/** The armor's BEGIN, header and END lines of this server's answers, made once. */
const frames = new WeakMap<DbContext, ArmorFrame>();

function frameOf(ctx: DbContext): ArmorFrame {
  let frame = frames.get(ctx);
  if (!frame) frames.set(ctx, (frame = armorFrame('PUBLIC KEY BLOCK', armorHeaders(ctx))));
  return frame;
}

function armorWith(ctx: DbContext, data: Buffer, crc?: number): Buffer {
  return armorBytes(data, frameOf(ctx), crc);
}

/** How many bytes armorKeyInto writes for this key. */
export function armoredKeyLength(ctx: DbContext, key: KeyPackets): number {
  return armoredLength(key.data.length, frameOf(ctx));
}

/** The key's armor as this server sends it (armorOne), written into `out` at `at`; returns where it ends. */
export function armorKeyInto(ctx: DbContext, key: KeyPackets, out: Buffer, at: number): number {
  return armorInto(key.data, out, at, frameOf(ctx), key.crc ?? crc24(key.data));
}

function armorHeaders(ctx: DbContext): Record<string, string> {
  return { Comment: `Hostname: ${ctx.settings.hostname}` };
}

/** The Content-Type of an mr op=get answer, and the file name it suggests. */
const MR_KEYS_TYPE = 'application/pgp-keys; charset=UTF-8';
const MR_KEYS_FILENAME = 'gpgkey.asc';

/** The query string GnuPG's dirmngr sends for `gpg --recv-keys <fingerprint>` and every refresh: most of what a
 * public server is asked. */
const GNUPG_GET_BY_FINGERPRINT = /^op=get&options=mr&search=0x([0-9A-Fa-f]{40}|[0-9A-Fa-f]{64})$/;

/** The key GnuPG's op=get by a primary key's fingerprint asks for, read by the fingerprint alone; undefined for any
 * other query string, and when no primary key has that fingerprint (a subkey's, or none: the general path answers).
 * Its reply (GNUPG_GET_REPLY, the key's armor as body) is the general path's reply to the same request, byte for byte
 * (test/gnupg-get.test.ts compares them), without parsing the query, building the key's object or sorting an answer
 * of one: on random keys of a 1M-key store those took a third of an uncached op=get (issue 17). sks-db's lookup
 * front writes that reply straight into the buffer it sends (server.ts wireReply). Not used when lookups are
 * logged. */
export function gnupgGetKey(ctx: DbContext, qs: string): KeyPackets | undefined {
  if (ctx.settings.log_lookups) return undefined;
  const hex = GNUPG_GET_BY_FINGERPRINT.exec(qs)?.[1];
  // A 64-digit search shows v6 keys (legacyVisible), and a 40-digit one cannot name a v6 primary key: nothing to hide.
  return hex === undefined ? undefined : ctx.store.packetsByFingerprint(hex);
}

/** The Content-Type of an mr index. */
export const MR_INDEX_TYPE = 'text/plain';

/** The mr index GnuPG's key search asks for (`op=index&options=mr&search=...`, its fields in dirmngr's order), from
 * the stored summaries: `text` is the body and `count` the result count of the general path's reply to the same
 * request, which it is byte for byte (test/gnupg-index.test.ts compares them). Undefined for any other query string
 * and whatever the general path must answer itself: a search it refuses (HttpError: thrown, as there), a store that
 * serves another form of its keys, lookups logged. Without parsing the query: on random e-mail addresses of a
 * 1M-key store the query string's parsing and the general path's bookkeeping took about a third of the answer
 * (issue 17). */
export function gnupgIndex(ctx: DbContext, qs: string): { text: string; count: number } | undefined {
  if (ctx.settings.log_lookups) return undefined;
  const search = gnupgIndexSearch(qs);
  const r = search === undefined ? undefined : mrIndexRequest(search);
  if (!r) return undefined;
  return mrIndexOfSummaries(ctx, r, classifySearch(r.search));
}

/** An mr index request answered from the stored summaries alone (no key read or parsed): the body and the result
 * count; undefined when the store serves another form of its keys than it stores (then findKeys). Refuses as
 * answerKeys does. */
function mrIndexOfSummaries(ctx: DbContext, r: LookupRequest, term: SearchTerm): { text: string; count: number } | undefined {
  const cap = ctx.settings.max_index_results;
  const entries = findIndexEntries(ctx, term, cap, cap + 1);
  if (!entries) return undefined;
  const { keys, count } = answerKeys(r, term, entries, cap, (e) => e.created);
  return { text: mrIndexText(keys), count };
}

/** The mr index of these entries, as sent. */
function mrIndexText(entries: IndexEntry[]): string {
  let text = `info:1:${entries.length}\n`;
  for (const e of entries) text += e.mrLines;
  return text;
}

/** What the reply to gnupgGetKey's request says besides its body (the key's armor). */
export const GNUPG_GET_REPLY: Readonly<Omit<SksReply, 'body'>> = { type: MR_KEYS_TYPE, count: 1, filename: MR_KEYS_FILENAME };

/** The machine-readable index (HKP draft §5.2) of `keys`: each key's lines as the store keeps them with the key
 * (nothing to parse or cache), or, for a form it has no summary of, computed and cached by digest. */
export function mrIndexCached(ctx: DbContext, keys: StoredKey[], total: number): string {
  let out = `info:1:${total}\n`;
  for (const k of keys) out += k.mrLines ?? (ctx.answers.get(`m:${k.digest}`, () => mrKeyText(k)) as string);
  return out;
}

/** Computes the answer of a lookup (everything but op=stats) from the store. `perKeyCache`: a key's armor is
 * taken from and kept in ctx.answers (false: the caller keeps whole replies itself, see frontAnswer). */
function computeAnswer(ctx: DbContext, r: LookupRequest, perKeyCache = true): LookupAnswer {
  if (r.op === 'hget') {
    const hex = r.search.replace(/^0x/i, '');
    if (!/^[0-9a-f]{32}$/i.test(hex)) throw new HttpError(400, 'op=hget needs a 32 hex digit key digest as search=');
    const key = ctx.store.getByDigest(hex);
    if (!key) throw new HttpError(404, 'Requested hash not found');
    return keysAnswer(ctx, r, [key], 1, `hash ${hex.toUpperCase()}`, perKeyCache);
  }

  const term = classifySearch(r.search);
  const cap = r.op === 'get' ? ctx.settings.max_get_results : ctx.settings.max_index_results;
  // An mr index is written from the stored summaries alone: no key is read or parsed.
  if (r.op === 'index' && r.mr && !r.exact) {
    const index = mrIndexOfSummaries(ctx, r, term);
    if (index) return bodyAnswer({ type: MR_INDEX_TYPE, body: index.text, count: index.count });
  }
  // A vindex is written from the keys' stored listings (a key of few signatures, which has none, is read and
  // described): no key of many signatures is read or parsed. By a primary key's fingerprint, as findKeys finds it:
  // that key's listing alone; otherwise the keys the stored entries find.
  if (r.op === 'vindex' && !r.mr && !r.exact) {
    const byFingerprint = term.kind === 'fingerprint' && (term.hex.length === 40 || term.hex.length === 64)
      ? listingOf(ctx, term.hex) : undefined;
    if (byFingerprint) {
      // (refuses a v6 key unless asked for by its v6 fingerprint, as for any search)
      const { count } = answerKeys(r, term, { keys: [byFingerprint.facts], total: 1 }, cap, (f) => f.created);
      return vindexAnswer(ctx, r, [byFingerprint], count);
    }
    const entries = findIndexEntries(ctx, term, cap, cap + 1);
    if (entries) {
      const { keys, count } = answerKeys(r, term, entries, cap, (e) => e.created);
      return vindexAnswer(ctx, r, keys.flatMap((e) => listingOf(ctx, e.fingerprint) ?? []), count);
    }
  }
  const { keys, count } = answerKeys(r, term, findKeys(ctx, term, cap, r.exact, cap + 1, r.op === 'index' && r.mr), cap, createdOf);
  if (r.op === 'get') return keysAnswer(ctx, r, keys, count, describe(r.search), perKeyCache);
  if (r.mr) return bodyAnswer({ type: MR_INDEX_TYPE, body: mrIndexCached(ctx, keys, keys.length), count });
  if (r.op === 'vindex') return vindexAnswer(ctx, r, keys.map(listingOfKey), count);
  const opts = { fingerprint: r.fingerprint, hash: r.hash };
  return htmlIndexAnswer(r, keys.map((k) => keyFacts(k.info)), count, keys.map((k) => htmlIndexText(k, opts)));
}

/** A key's listing with what filling it in needs: as stored, or made from its description. */
type Listing = StoredListing & { fingerprint: string };

function listingOfKey(k: StoredKey): Listing {
  return { digest: k.digest, fingerprint: k.fingerprint, page: null, ...keyListing(k.info) };
}

/** The stored listing of the key with this fingerprint, or one made from the key when it has none stored. */
function listingOf(ctx: DbContext, fingerprint: string): Listing | undefined {
  const stored = ctx.store.listingByFingerprint(fingerprint);
  // (the key's own fingerprint, not the search's spelling of it)
  if (stored) return { ...stored, fingerprint: stored.facts.fingerprint };
  const k = ctx.store.getByFingerprint(fingerprint, { summary: false });
  return k && listingOfKey(k);
}

/** op=vindex: the keys' listings filled in, with the names of their signers, as SKS shows them. */
function vindexAnswer(ctx: DbContext, r: LookupRequest, listings: Listing[], count: number): LookupAnswer {
  // Names of certifying keys, bounded like SKS's max_uid_fetches: the first signers in listing order; signers beyond
  // the budget show []. A stored listing's page has its signers' names in it (kept current by every write); the
  // others' are looked up, in one statement.
  const signers = new Set<string>();
  for (const l of listings) listingSigners(l.signers, signers);
  const budget = ctx.settings.vindex_max_signer_lookups;
  const opts = { fingerprint: r.fingerprint, hash: r.hash };
  const facts = listings.map((l) => l.facts);
  if (signers.size <= budget) {
    // every signer is shown: stored pages as they are, the others' names looked up
    const asked = new Set<string>();
    for (const l of listings) if (!l.page) listingSigners(l.signers, asked);
    const looked = asked.size > 0 ? ctx.store.signerNames([...asked]) : new Map<string, string | undefined>();
    return htmlIndexAnswer(r, facts, count, listings.map((l) => htmlVindexText(l, opts, l.page ? 'page' : looked)));
  }
  // the first signers' names looked up, filled into the templates (a stored page names every signer)
  const names = ctx.store.signerNames([...signers].slice(0, Math.max(0, budget)));
  const templates = listings.map((l) => (l.vindex !== undefined ? l : { ...l, ...ctx.store.listingByFingerprint(l.fingerprint, { template: true }) }));
  return htmlIndexAnswer(r, facts, count, templates.map((l) => htmlVindexText(l, opts, names)));
}

/** The HTML page of op=index and op=vindex: the readable list first, then SKS's listing as SKS writes it (scripts
 * scrape it; vindex shows signatures there). `keyTexts`: each key's lines of the listing. Encoded in pieces: each
 * key's text is one flat string, and encoding the page as one string first copied it all into one (a vindex page
 * is 30 KB). */
function htmlIndexAnswer(r: LookupRequest, facts: KeyFacts[], count: number, keyTexts: Array<string | Buffer>): LookupAnswer {
  const title = `Search results for '${htmlQuote(r.search.toLowerCase())}'`;
  const verbose = r.op === 'vindex';
  const [top, bottom] = pageAround(title, { search: r.search });
  const head =
    `${top}${resultSummary(facts.length, count, r.search)}\n${keyCards(facts)}\n` +
    `<h2 id="sks-listing">${verbose ? 'Keys with their signatures' : 'The same keys'}, as SKS lists them</h2>\n` +
    `<div class="listing">${listingHead(verbose)}`;
  const body = Buffer.concat([Buffer.from(head), ...keyTexts.map((t) => (typeof t === 'string' ? Buffer.from(t) : t)), Buffer.from(`${LISTING_END}</div>${bottom}`)]);
  return bodyAnswer({ type: 'text/html; charset=UTF-8', body, count });
}

/** The keys of an answer, newest first, and how many match: refuses with 413 when more match than `cap` (unless
 * limit= asks for the first ones) and with 404 when none may be shown. */
function answerKeys<K extends { fingerprint: string; version: number }>(
  r: LookupRequest, term: SearchTerm, found: Found<K>, cap: number, createdOf: (k: K) => number,
): { keys: K[]; count: number } {
  if (found.total > cap && !(r.limit > 0)) {
    throw new HttpError(
      413,
      `more keys match ${describe(r.search)} than the ${cap} this server returns; give a more specific search, ` +
        'or ask for the first ones with limit=',
      'Too many responses',
    );
  }
  // With limit= SKS answers the newest `limit` of all matches, so every match (up to the cap) is sorted first.
  const sorted = newestFirst(legacyVisible(found.keys, term), createdOf);
  const keys = r.limit > 0 ? sorted.slice(0, r.limit) : sorted;
  if (keys.length === 0) {
    const onlyV6 = found.keys.length > 0;
    throw new HttpError(404, onlyV6 ? 'No keys found: only v6 keys match; ask for them by their 64-digit v6 fingerprint' : 'No keys found');
  }
  // How many keys match, with limit= too (SKS 1.1.6 sends 271 for a word of 271 keys asked with limit=3); the
  // mr info line says how many the answer holds.
  return { keys, count: found.total - (found.keys.length - sorted.length) };
}

function bodyAnswer(a: Omit<LookupAnswer, 'length'>): LookupAnswer {
  const size = a.body === undefined ? 0 : typeof a.body === 'string' ? a.body.length * 2 : a.body.length;
  // written out, not `{ ...a, length }`: V8 built a new object shape for the spread on every uncached answer
  return { length: 128 + size, status: a.status, type: a.type, body: a.body, count: a.count, filename: a.filename };
}

function keysAnswer(ctx: DbContext, r: LookupRequest, keys: StoredKey[], count: number, what: string, perKeyCache: boolean): LookupAnswer {
  const armor = perKeyCache ? armoredKeys : armorKeys;
  if (r.mr) {
    const type = MR_KEYS_TYPE;
    if (keys.length === 1 && perKeyCache) {
      armoredKeys(ctx, keys);
      return { length: 256, type, armoredDigest: keys[0]!.digest, count, filename: MR_KEYS_FILENAME };
    }
    return bodyAnswer({ type, body: armor(ctx, keys), count, filename: MR_KEYS_FILENAME });
  }
  const title = `Public Key Server -- Get ${htmlQuote(what)}`;
  const armored = armor(ctx, keys).toString('utf8');
  // The armor stays one <pre> block as SKS sends it (a saved page still imports with gpg --import).
  const body =
    `${keyCards(keys.map((k) => keyFacts(k.info)))}\n<h2 id="armor">ASCII-armored key${keys.length === 1 ? '' : 's'}</h2>\n` +
    `\r\n<pre class="armor">\r\n${armored}\r\n</pre>\r\n`;
  return bodyAnswer({ type: 'text/html; charset=UTF-8', body: page(title, body, { search: r.op === 'hget' ? undefined : r.search }), count });
}

/** The answer of a lookup from the worker's lookup cache, computed on a miss. Refusals (404, 413, ...) are
 * cached too: GnuPG's refreshes ask again and again for keys a server does not have. `cached: false` computes it
 * without the lookup and per-key caches (for a caller that keeps whole replies itself) and never answers with an
 * armoredDigest. */
export function lookupAnswer(ctx: DbContext, r: LookupRequest, cached = true): LookupAnswer {
  if (!cached) return answerOrRefusal(ctx, r, false);
  ctx.lookups.sync(ctx.dataVersion());
  const key = `${r.op}|${r.mr ? 1 : 0}${r.exact ? 1 : 0}${r.fingerprint ? 1 : 0}${r.hash ? 1 : 0}|${r.limit}|${r.search}`;
  return ctx.lookups.get(key, () => answerOrRefusal(ctx, r, true));
}

/** computeAnswer, with a refusal (HttpError) as an answer of its own. */
function answerOrRefusal(ctx: DbContext, r: LookupRequest, perKeyCache: boolean): LookupAnswer {
  try {
    return computeAnswer(ctx, r, perKeyCache);
  } catch (err) {
    if (err instanceof HttpError) return { length: 256 + err.message.length * 2, error: err };
    throw err;
  }
}

/** The reply to GET /pks/lookup from its parsed query string; throws HttpError for refusals. Synchronous and free of
 * HTTP objects, so the lookup front (hkp-front.ts) and node's http responses both send it. `cached`: see
 * lookupAnswer. */
export function lookupReply(ctx: DbContext, query: Query, cached = true): SksReply {
  const r = parseLookup(query);
  if (ctx.settings.log_lookups) ctx.logger.info('lookup', { op: r.op, search: r.search });
  if (r.op === 'stats') return statsReply(ctx, r);
  const a = lookupAnswer(ctx, r, cached);
  if (a.error) throw a.error;
  const body = a.armoredDigest !== undefined ? armoredKeyBody(ctx, a.armoredDigest) : a.body!;
  return { status: a.status, type: a.type!, body, count: a.count, filename: a.filename, armoredDigest: a.armoredDigest };
}

/** The armor of the stored key with this digest, from the per-key cache (computed on a miss). */
export function armoredKeyBody(ctx: DbContext, digest: string): Buffer {
  const last = lastArmor.get(ctx);
  if (last && last.digest === digest && last.version === ctx.dataVersion()) return last.body;
  return ctx.answers.get(`a:${digest}`, () => {
    const key = ctx.store.getByDigest(digest);
    if (!key) throw new HttpError(404, 'No keys found'); // removed since; the next lookup sees the new version
    return armorKeys(ctx, [key]);
  }) as Buffer;
}

/** Answers GET /pks/lookup on a node http response (express routes); throws HttpError for refusals. */
export async function handleLookup(ctx: DbContext, query: Query, res: ServerResponse): Promise<void> {
  sendSks(res, lookupReply(ctx, query));
}
