// A key's op=vindex listing, kept ready beside keys with many signatures (table key_listings, schema versions 6, 7),
// as its mr lines are kept beside every key (summary.ts). Issue 17: an uncached vindex of a 100-signature key read the
// whole key (60 KB), described it (every signature parsed into objects) and built some 1,500 strings, five times
// the work of its op=get. The listing is kept as a template with slots for what depends on the request or on other
// keys (the link options, the signers' names, whether a signature has expired), and as a page: the template with
// the signers' cells filled in, as bytes sent to a request without options (made again when a name it shows
// changes, sqlite/signer-names.ts). A vindex sends the page; options go in where the page's slots say.
//
// The listing is SKS's verbose <pre> block (index.ml key_to_lines_verbose, htmlTemplates.ml) byte for byte once
// filled in; sks-db pins it against real SKS (vindex-sks-lines.test.ts). Keys below LISTING_MIN_SIGNATURES get the
// same template made on the fly from their description: one way to write a listing, whichever key it is.
import type { KeyInfo, SignatureInfo } from '../openpgp/types.js';

/** Keys with at least this many signatures (on the primary key, its user IDs and subkeys together) keep their
 * listing stored. Below it, describing the key costs little (a 20-signature key: ~10 µs), and storing a listing for
 * every key would add a fifth to a store of lightly signed keys (the 1M-key generated store: ~0.7 KB a key). */
export const LISTING_MIN_SIGNATURES = 20;

/** What the readable key list (sks-db key-cards.ts) shows of a key: stored as JSON with the listing. */
export interface KeyFacts {
  fingerprint: string;
  keyId: string;
  version: number;
  created: number;
  algorithm: number;
  bits: number;
  revoked: boolean;
  expires: number | null;
  subkeys: number;
  /** In stored order; `text` null for a user attribute. */
  userIds: Array<{ text: string | null; primary: boolean }>;
}

export function keyFacts(info: KeyInfo): KeyFacts {
  return {
    fingerprint: info.fingerprint, keyId: info.keyId, version: info.version, created: info.created, algorithm: info.algorithm, bits: info.bits,
    revoked: info.revoked, expires: info.expires, subkeys: info.subkeys.length,
    userIds: info.userIds.map((u) => ({ text: u.kind === 'uid' ? u.text : null, primary: u.primary === true })),
  };
}

/** A key's vindex listing with its holes, and the facts of its card. */
export interface KeyListing {
  facts: KeyFacts;
  /** The key's lines of the <pre> block, each preceded by CRLF, with the slots renderListing fills. */
  vindex: string;
  /** The issuers of its signatures in order of first appearance, each once: 16 hex digits and a flag, `n` when the
   * listing shows the issuer's name (looked up when the page is made), `-` when not (the key itself, its subkeys). */
  signers: string;
}

// The template's slots, MARK and a letter:
//   k<i>;              the key ID cell of issuer i (a link to its key, with the request's options)
//   v<n|s|e><i>;       the name cell of issuer i (a link to its listing): its name (n), [selfsig] (s) or [] (e)
//   o                  the request's options in any other link
//   t<0-3><time>;      the type column of a certification (0x10 + digit) that expires at <time>: `exp` once past
//   x                  the key's extra lines (hash=, fingerprint=)
//   m                  a MARK of the text itself (U+0001 can occur in a user ID, a notation or a policy URL)
// Issuers are numbered in order of first appearance (KeyListing.issuers): their cells are the same on every line they
// signed, made once per page and kept by number, not looked up by key ID.
const MARK = '\u0001';
/** A key ID in a listing's issuer list, followed by its flag: NAMED when the listing shows its name. */
const KEY_ID_CHARS = 16;
const ISSUER_CHARS = KEY_ID_CHARS + 1;
const NAMED = 'n';

/** Text as it goes into a template: MARK escaped. */
function lit(s: string): string {
  return s.includes(MARK) ? s.replaceAll(MARK, MARK + 'm') : s;
}

const HTML_SPECIAL = /[<>&"'/]/;

/** HTML-escapes as SKS does (htmlTemplates.ml), so pages look alike. A loop: half the cost of replace() with a
 * callback, and a listing quotes every signer's name. */
export function htmlQuote(s: string): string {
  if (!HTML_SPECIAL.test(s)) return s;
  let out = '';
  let from = 0;
  for (let i = 0; i < s.length; i++) {
    let entity: string;
    switch (s.charCodeAt(i)) {
      case 0x3c: entity = '&lt;'; break;
      case 0x3e: entity = '&gt;'; break;
      case 0x26: entity = '&amp;'; break;
      case 0x22: entity = '&quot;'; break;
      case 0x27: entity = '&#x27;'; break;
      case 0x2f: entity = '&#x2F;'; break;
      default: continue;
    }
    out += s.slice(from, i) + entity;
    from = i + 1;
  }
  return out + s.slice(from);
}

// SKS's ways of showing a key, shared with the mr lines (summary.ts).

/** Key size as SKS reports it: 256 for the 25519 curves, which GnuPG and our KeyInfo call 255. */
export function sksKeyBits(k: { algorithm: number; bits: number }): number {
  return (k.algorithm === 22 || k.algorithm === 18) && k.bits === 255 ? 256 : k.bits;
}

/** User IDs in SKS 1.1.6's order (index.ml move_primary_to_front): first the user IDs that any self-signature flags
 * as primary, the one with the newest signature of any kind (third-party certifications count, as SKS computes it)
 * first, ties in stored order; then every other user ID and attribute in stored order. */
export function userIdsPrimaryFirst(info: KeyInfo): KeyInfo['userIds'] {
  const flagged = (u: KeyInfo['userIds'][number]) => u.kind === 'uid' && u.signatures.some((s) => s.self && s.primaryUid === true);
  const newest = (u: KeyInfo['userIds'][number]) =>
    u.signatures.reduce((m, s) => (s.created > 0 && s.created > m ? s.created : m), Number.NEGATIVE_INFINITY);
  const primary = info.userIds.map((u, i) => ({ u, i, t: newest(u) })).filter((r) => flagged(r.u));
  primary.sort((a, b) => b.t - a.t || a.i - b.i);
  return [...primary.map((r) => r.u), ...info.userIds.filter((u) => !flagged(u))];
}

/** SKS's one-letter algorithm names (packet.ml pk_alg_to_ident). */
export function algoLetter(algo: number): string {
  switch (algo) {
    case 1: return 'R';
    case 2: return 'r';
    case 3: return 's';
    case 16: return 'g';
    case 17: return 'D';
    case 18: return 'e';
    case 19: return 'E';
    case 20: return 'G';
    case 22: return 'E';
    case 25: return 'x';
    case 27: return 'E';
    default: return '?';
  }
}

/** Dates by day number (days since 1970), as written: a listing writes three per signature. A 4-byte time names
 * under 50,000 days, a creation time plus a 4-byte expiry interval under 100,000: the bound below is never reached
 * by real dates, only kept against anything else. */
const DATES = new Map<number, string>();

/** A Unix time as SKS's listings write it: YYYY-MM-DD (UTC). */
export function listingDate(unix: number): string {
  const day = Math.floor(unix / 86400);
  let text = DATES.get(day);
  if (text === undefined) {
    const d = new Date(day * 86400000);
    const p = (n: number) => String(n).padStart(2, '0');
    text = `${d.getUTCFullYear()}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())}`;
    if (DATES.size < 100000) DATES.set(day, text);
  }
  return text;
}

/** Fingerprint grouped as SKS prints it: 4-digit groups, each followed by a space, an extra one in the middle. */
export function groupedFingerprint(fpr: string): string {
  const bs = fpr.length === 40 || fpr.length === 64 ? 4 : 2;
  const extraAt = fpr.length === 40 ? 4 : 7;
  let out = '';
  for (let i = 0; i < fpr.length / bs; i++) {
    out += fpr.slice(i * bs, i * bs + bs) + ' ';
    if (i === extraAt) out += ' ';
  }
  return out;
}

/** Options of the request that change a listing's links and extra lines. */
export interface ListingOptions {
  fingerprint: boolean;
  hash: boolean;
}

/** The query options a listing's links carry (SKS keeps hash= and fingerprint= on them). */
export function linkOptions(o: ListingOptions): string {
  return `${o.hash ? '&amp;hash=on' : ''}${o.fingerprint ? '&amp;fingerprint=on' : ''}`;
}

/** A lookup link of a listing, with the request's options in a slot. */
function slotLink(op: string, keyid: string): string {
  return `/pks/lookup?op=${op}${MARK}o&amp;search=0x${keyid}`;
}

const BLANK = '__________';

const TYPE_LABEL = ['sig', 'sig1', 'sig2', 'sig3'];
const EXPIRED_LABEL = ['exp', 'exp1', 'exp2', 'exp3'];

/** A signature's type column, six wide. Certifications with an expiry read `exp` once expired, which depends on
 * when the page is made: a slot. */
function sigTypeColumn(s: SignatureInfo): string {
  if (s.type >= 0x10 && s.type <= 0x13) {
    return s.expires === null ? ` ${TYPE_LABEL[s.type - 0x10]!.padEnd(5)}` : `${MARK}t${s.type - 0x10}${s.expires};`;
  }
  switch (s.type) {
    case 0x20: case 0x28: case 0x30: return '<span class="warn">revok </span>';
    case 0x1f: return 'dirct ';
    case 0x18: return 'sbind ';
    default: return ` 0x${s.type.toString(16).padStart(2, '0')}`.padEnd(6);
  }
}

function typeSlot(t: number, expires: number, now: number): string {
  return expires < now ? `<span class="warn"> ${EXPIRED_LABEL[t]!.padEnd(5)}</span>` : ` ${TYPE_LABEL[t]!.padEnd(5)}`;
}

/** How a signature's issuer is named: `s` ([selfsig]) for the key (or subkey) itself, `e` ([]) for the primary key's
 * own signatures on a subkey (as SKS 1.1.6 writes them), else `n`: the signer's name, looked up when the page is
 * made (and the signer added to `signers`). */
type IssuerNaming = ((issuer: string) => 'n' | 's' | 'e') & { number(issuer: string): number };

function sigLines(s: SignatureInfo, keyCreated: number, naming: IssuerNaming): string {
  const created = s.created ? listingDate(s.created) : BLANK;
  const sigExp = s.expires ? listingDate(s.expires) : BLANK;
  const keyExp = s.keyExpires ? listingDate(keyCreated + s.keyExpires) : BLANK;
  const id = s.issuerKeyId;
  const keyIdCell = id ? `${MARK}k${naming.number(id)};` : 'no keyid';
  const nameCell = id ? `${MARK}v${naming(id)}${naming.number(id)};` : '[]';
  let out = `\r\nsig ${sigTypeColumn(s)} ${keyIdCell} ${created} ${sigExp} ${keyExp} ${nameCell}`;
  if (s.policyUrl !== undefined) {
    const url = lit(htmlQuote(s.policyUrl));
    out += `\r\n    Policy URL: <a href="${url}">${url}</a>`;
  }
  if (s.notation) {
    out += `\r\n    Notation data: <span class="text-decoration: underline;">${lit(htmlQuote(s.notation.name))}</span> ${lit(htmlQuote(s.notation.value))}`;
  }
  if (s.revocationKey) {
    out += `\r\n    Revocation key fingerprint: <a href="${slotLink('vindex', s.revocationKey)}">${groupedFingerprint(s.revocationKey)}</a>`;
  }
  return out;
}

const byTime = (a: SignatureInfo, b: SignatureInfo) => a.created - b.created;

/** One key's lines in SKS's verbose listing (index.ml key_to_lines_verbose), as a template. */
export function vindexTemplate(info: KeyInfo): { vindex: string; signers: string } {
  // issuer key ID -> [number, named]
  const issuers = new Map<string, [number, boolean]>();
  const entry = (id: string) => {
    let e = issuers.get(id);
    if (e === undefined) issuers.set(id, (e = [issuers.size, false]));
    return e;
  };
  const naming = (rule: (id: string) => 'n' | 's' | 'e'): IssuerNaming => Object.assign((id: string) => {
    const kind = rule(id);
    if (kind === 'n') entry(id)[1] = true;
    return kind;
  }, { number: (id: string) => entry(id)[0] });
  const onKey = naming((id) => (id === info.keyId ? 's' : 'n'));
  let out =
    `\r\n</pre><hr /><pre><strong>pub</strong>  ${String(sksKeyBits(info)).padStart(4)}${algoLetter(info.algorithm)}/` +
    `<a href="/pks/lookup?op=get&amp;search=0x${info.keyId}">${info.keyId.slice(-8).padStart(8)}</a> ` +
    `${listingDate(info.created)} ${info.version === 3 && info.expires ? listingDate(info.expires) : '          '} `;
  for (const s of info.signatures) out += sigLines(s, info.created, onKey);
  out += `${MARK}x`;
  for (const u of userIdsPrimaryFirst(info)) {
    out += '\r\n';
    if (u.kind === 'uid') {
      out += u.text.length <= 1024 ? `\r\n<strong>uid</strong> <span class="uid">${lit(htmlQuote(u.text))}</span>` : `\r\n<strong>uid</strong> [${u.text.length}-byte uid]`;
    } else out += '\r\n<strong>uat</strong> [contents omitted]';
    for (const s of [...u.signatures].sort(byTime)) out += sigLines(s, info.created, onKey);
  }
  // Subkeys in stored order, each with its binding and revocation signatures (as SKS lists them).
  for (const sk of info.subkeys) {
    // the exp time column is the key packet's own expiry, which only v3 key packets hold (as on the pub line);
    // nothing after the dates, as SKS: a revoked subkey shows its `sig revok` line below
    out += `\r\n\r\n<strong>sub</strong>  ${String(sksKeyBits(sk)).padStart(4)}${algoLetter(sk.algorithm)}/${sk.keyId.slice(-8).padStart(8)} ` +
      `${listingDate(sk.created)} ${sk.version === 3 && sk.expires ? listingDate(sk.expires) : '          '} `;
    // SKS 1.1.6 names the primary key's own signatures on a subkey (binding, revocation) `[]`, not `[selfsig]`
    const onSubkey = naming((id) => (id === sk.keyId ? 's' : id === info.keyId ? 'e' : 'n'));
    for (const s of [...sk.signatures].sort(byTime)) out += sigLines(s, sk.created, onSubkey);
  }
  let signers = '';
  for (const [id, [, named]] of issuers) signers += id + (named ? NAMED : '-');
  return { vindex: out, signers };
}

/** A key's extra lines in a listing for these options (each preceded by CRLF): its digest with an op=hget link,
 * its fingerprint grouped. `digest`: 32 hex digits. */
export function extraListingLines(o: ListingOptions, digest: string, fingerprint: string): string {
  let out = '';
  if (o.hash) {
    const h = digest.toUpperCase();
    out += `\r\n\t Hash=<a href=/pks/lookup?op=hget&amp;search=${h}>${h}</a>`;
  }
  if (o.fingerprint) out += `\r\n\t Fingerprint=${groupedFingerprint(fingerprint)}`;
  return out;
}

/** How many signatures a key has: on the primary key, its user IDs and its subkeys. */
export function signatureCount(info: KeyInfo): number {
  let n = info.signatures.length;
  for (const u of info.userIds) n += u.signatures.length;
  for (const sk of info.subkeys) n += sk.signatures.length;
  return n;
}

/** A key's listing and card facts. */
export function keyListing(info: KeyInfo): KeyListing {
  return { facts: keyFacts(info), ...vindexTemplate(info) };
}

/** The key IDs whose names a listing shows, in listing order, each once, added to `into`. */
export function listingSigners(signers: string, into: Set<string>): Set<string> {
  for (let i = 0; i + ISSUER_CHARS <= signers.length; i += ISSUER_CHARS) {
    if (signers[i + KEY_ID_CHARS] === NAMED) into.add(signers.slice(i, i + KEY_ID_CHARS));
  }
  return into;
}

/** A signer's name cell as SKS writes it: the name HTML-quoted, a long one by its length, `[]` for none. */
function nameCell(name: string | undefined): string {
  if (!name) return '[]';
  return name.length > 1024 ? `[${name.length}-byte uid]` : htmlQuote(name);
}

/** What a listing's slots become for one request. */
export interface ListingFill {
  options: ListingOptions;
  /** Signer names by long key ID (undefined or absent: unknown, shown as `[]`). */
  names: ReadonlyMap<string, string | undefined>;
  /** The key's extra lines for these options (hash, fingerprint), each preceded by CRLF. */
  extra: string;
  /** Unix seconds: certifications that expired before it read `exp`. */
  now: number;
}

/** What a page's slots become for one request (ListingFill without the names, which a page has). */
export type PageFill = Omit<ListingFill, 'names'>;

/** The number of a slot that starts at `at` of `part` and ends in ';', and where its ';' is. */
function slotNumber(part: string, at: number): [number, number] {
  let n = 0;
  let i = at;
  for (let c = part.charCodeAt(i); c !== 0x3b; c = part.charCodeAt(++i)) n = n * 10 + c - 0x30;
  return [n, i];
}

/** A listing with its signers' cells filled in: the key ID and name cells (names from `names`, by long key ID), their
 * links' options left as slots, as are the template's other slots (options, extra lines, time, literal MARK). What
 * depends on other keys is in it; what depends on the request is not. key_listings.page stores it, made again when a
 * name it shows changes (sqlite/signer-names.ts), in the form storedPage gives it, so a vindex without options sends
 * it as it is (renderStoredPage). `signers` is the template's issuer list. */
export function listingPage(vindex: string, signers: string, names: ReadonlyMap<string, string | undefined>): string {
  const count = signers.length / ISSUER_CHARS;
  // cells by issuer number: the key ID cell, then the name cell of each kind
  const keyCells: Array<string | undefined> = new Array(count);
  const nameCells: Array<string | undefined> = new Array(count * 3);
  const issuer = (i: number) => signers.slice(i * ISSUER_CHARS, i * ISSUER_CHARS + KEY_ID_CHARS);
  // split at the MARKs and joined again, into one flat string: a replace() with a callback per slot cost twice as
  // much (each call goes from the runtime back into JS)
  const parts = vindex.split(MARK);
  const out: string[] = [parts[0]!];
  for (let p = 1; p < parts.length; p++) {
    const part = parts[p]!;
    switch (part.charCodeAt(0)) {
      case 0x6b: { // k
        const [i, semi] = slotNumber(part, 1);
        out.push(keyCells[i] ??= keyIdCell(issuer(i)), part.slice(semi + 1));
        break;
      }
      case 0x76: { // v
        const kind = part.charCodeAt(1);
        const [i, semi] = slotNumber(part, 2);
        const k = kind === 0x6e ? 0 : kind === 0x73 ? 1 : 2; // n, s, e
        let cell = nameCells[i * 3 + k];
        if (cell === undefined) {
          const id = issuer(i);
          cell = nameCells[i * 3 + k] = signerNameCell(id, k, k === 0 ? names.get(id) : undefined);
        }
        out.push(cell, part.slice(semi + 1));
        break;
      }
      default: out.push(MARK, part); // a slot of the request's
    }
  }
  return out.join('');
}

/** A page as key_listings stores it: its UTF-8 bytes with the slots of the link options and extra lines taken out,
 * i.e. the page of a request without options as it is sent (unless a certification on it expires, a rare slot kept
 * in it), and where those slots were. */
export interface StoredPage {
  page: Buffer;
  /** Byte offsets into `page`, 32-bit little-endian: first where the extra lines go (0xFFFFFFFF: none), then where
   * each link's options go, ascending. */
  slots: Buffer;
}

const NO_SLOT = 0xffffffff;
const MARK_BYTE = 0x01; // in UTF-8 only U+0001 has this byte

/** The stored form of a page (listingPage). */
export function storedPage(page: string): StoredPage {
  const parts = page.split(MARK);
  const chunks: Buffer[] = [];
  const options: number[] = [];
  let length = 0;
  let extra = NO_SLOT;
  const add = (text: string) => {
    if (text.length === 0) return;
    const b = Buffer.from(text);
    chunks.push(b);
    length += b.length;
  };
  add(parts[0]!);
  for (let p = 1; p < parts.length; p++) {
    const part = parts[p]!;
    const letter = part.charCodeAt(0);
    if (letter === 0x6f) options.push(length); // o
    else if (letter === 0x78) extra = length; // x
    else { add(MARK + part); continue; } // t, m: filled per request
    add(part.slice(1));
  }
  const slots = Buffer.alloc(4 * (options.length + 1));
  slots.writeUInt32LE(extra, 0);
  options.forEach((at, i) => slots.writeUInt32LE(at, 4 * (i + 1)));
  return { page: Buffer.concat(chunks, length), slots };
}

/** A stored page filled in for a request: SKS's lines of the key, UTF-8. A request without options takes the page
 * as stored; options go in where the slots say, certifications that expire and a MARK of the text (rare) by a scan
 * for the MARK byte. */
export function renderStoredPage(stored: StoredPage, fill: PageFill): Buffer {
  let out = stored.page;
  const opts = linkOptions(fill.options);
  if (opts !== '' || fill.extra !== '') {
    const optBytes = Buffer.from(opts);
    const extraBytes = Buffer.from(fill.extra);
    const slots = stored.slots;
    const extraAt = slots.readUInt32LE(0);
    const pieces: Buffer[] = [];
    let from = 0;
    let extraDone = extraAt === NO_SLOT;
    const cut = (at: number, insert: Buffer) => {
      pieces.push(out.subarray(from, at), insert);
      from = at;
    };
    for (let i = 4; i < slots.length; i += 4) {
      const at = slots.readUInt32LE(i);
      if (!extraDone && extraAt <= at) { cut(extraAt, extraBytes); extraDone = true; }
      if (optBytes.length > 0) cut(at, optBytes);
    }
    if (!extraDone) cut(extraAt, extraBytes);
    pieces.push(out.subarray(from));
    out = Buffer.concat(pieces);
  }
  return out.includes(MARK_BYTE) ? fillTimeSlots(out, fill.now) : out;
}

/** The slots left in a page's bytes: certifications that expire (t) and MARKs of the text (m). */
function fillTimeSlots(page: Buffer, now: number): Buffer {
  const pieces: Buffer[] = [];
  let from = 0;
  for (let at = page.indexOf(MARK_BYTE); at >= 0; at = page.indexOf(MARK_BYTE, from)) {
    pieces.push(page.subarray(from, at));
    if (page[at + 1] === 0x74) { // t<digit><time>;
      const end = page.indexOf(0x3b, at);
      const expires = Number(page.toString('latin1', at + 3, end));
      pieces.push(Buffer.from(typeSlot(page[at + 2]! - 0x30, expires, now)));
      from = end + 1;
    } else { // m
      pieces.push(Buffer.from(MARK));
      from = at + 2;
    }
  }
  pieces.push(page.subarray(from));
  return Buffer.concat(pieces);
}

/** A listing filled in for a request, with the names given: SKS's lines of the key, as a stored page of it gives
 * them (one way to fill a listing, stored or not). */
export function renderListing(vindex: string, signers: string, fill: ListingFill): Buffer {
  return renderStoredPage(storedPage(listingPage(vindex, signers, fill.names)), fill);
}

function keyIdCell(id: string): string {
  return `<a href="${slotLink('get', id)}">${id.slice(-8)}</a>`;
}

/** kind 0: the signer's name, 1: [selfsig], 2: []. */
function signerNameCell(id: string, kind: number, name: string | undefined): string {
  const text = kind === 1 ? '[selfsig]' : kind === 2 ? '[]' : lit(nameCell(name));
  return `<a href="${slotLink('vindex', id)}">${text}</a>`;
}
