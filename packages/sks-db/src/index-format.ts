// The answers to op=index and op=vindex: machine-readable lines (HKP draft §5.2, SKS mRindex.ml) and the HTML
// pre-formatted listing SKS writes (index.ml, htmlTemplates.ml), so scripts that scrape either keep working.
import { mrLines, readPackets, sksKeyBits, userIdsPrimaryFirst, type KeyInfo, type Packet, type SignatureInfo, type StoredKey } from '@sks/keystore';
import { htmlQuote } from './http-util.js';

/** Options of the request that change the listing. */
export interface IndexOptions {
  fingerprint: boolean;
  hash: boolean;
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

// The mr lines and the helpers they share with the HTML listing are the key store's (it writes each key's lines
// with the key, summary.ts); re-exported here, where the listings are.
export { escapeMr, sksKeyBits, sksKeyExpiry, primaryUserId } from '@sks/keystore';

/** Machine-readable lines of one key: `pub:` then one `uid:`/`uat:` line per user ID. */
export function mrKeyLines(key: StoredKey): string[] {
  let packets: Packet[] = [];
  try {
    packets = readPackets(key.data);
  } catch {
    // Stored keys always parse; if one does not, the lines come from KeyInfo alone.
  }
  return mrLines(key.info, packets);
}

/** One key's mr lines, each ending in '\n': as stored with the key, or (a form the store has no summary of)
 * computed. */
export function mrKeyText(key: StoredKey): string {
  return key.mrLines ?? mrKeyLines(key).join('\n') + '\n';
}

/** The whole mr index body (without SKS's trailing CRLF, which sendSks adds). */
export function mrIndex(keys: StoredKey[], total = keys.length): string {
  let out = `info:1:${total}\n`;
  for (const k of keys) out += mrKeyText(k);
  return out;
}

/** Dates by day number (days since 1970), as written: a vindex writes three per signature. A 4-byte time names
 * under 50,000 days, a creation time plus a 4-byte expiry interval under 100,000: the bound below is never reached
 * by real dates, only kept against anything else. */
const DATES = new Map<number, string>();

function date(unix: number): string {
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
  const extraAt = fpr.length === 40 ? 4 : fpr.length === 64 ? 7 : 7;
  let out = '';
  for (let i = 0; i < fpr.length / bs; i++) {
    out += fpr.slice(i * bs, i * bs + bs) + ' ';
    if (i === extraAt) out += ' ';
  }
  return out;
}

function link(op: string, keyid: string, o: IndexOptions): string {
  return `/pks/lookup?op=${op}${o.hash ? '&amp;hash=on' : ''}${o.fingerprint ? '&amp;fingerprint=on' : ''}&amp;search=0x${keyid}`;
}

function extraLines(key: StoredKey, o: IndexOptions): string[] {
  const lines: string[] = [];
  if (o.hash) {
    const h = key.digest.toUpperCase();
    lines.push(`\t Hash=<a href=/pks/lookup?op=hget&amp;search=${h}>${h}</a>`);
  }
  if (o.fingerprint) lines.push(`\t Fingerprint=${groupedFingerprint(key.fingerprint)}`);
  return lines;
}

/** User IDs for the short listing: the primary one first, as SKS shows them, the others in stored order. */
function uidTexts(info: KeyInfo): string[] {
  return userIdsPrimaryFirst(info).map((u) => (u.kind === 'uid' ? htmlQuote(u.text) : '[user attribute packet]'));
}

/** One key in the short HTML listing (index.ml key_to_lines_normal). */
export function htmlIndexLines(key: StoredKey, o: IndexOptions): string[] {
  const info = key.info;
  const short = info.keyId.slice(-8);
  const userids = uidTexts(info);
  if (userids.length > 0) userids[0] = `<a href="${link('vindex', info.keyId, o)}">${userids[0]}</a>`;
  const revoked = info.revoked ? ' *** KEY REVOKED *** [not verified]\r\n                              ' : '';
  const keystr =
    `pub  ${String(sksKeyBits(info)).padStart(4)}${algoLetter(info.algorithm)}/` +
    `<a href="${link('get', info.keyId, { hash: false, fingerprint: false })}">${short.padStart(8)}</a> ` +
    `${date(info.created)}${revoked} ` +
    userids.join('\r\n                               ');
  return ['</pre><hr /><pre>', keystr, ...extraLines(key, o)];
}

function sigTypeLabel(s: SignatureInfo, now: number): string {
  const expired = s.expires !== null && s.expires < now;
  switch (s.type) {
    case 0x10: return expired ? '<span class="warn"> exp  </span>' : ' sig  ';
    case 0x11: return expired ? '<span class="warn"> exp1 </span>' : ' sig1 ';
    case 0x12: return expired ? '<span class="warn"> exp2 </span>' : ' sig2 ';
    case 0x13: return expired ? '<span class="warn"> exp3 </span>' : ' sig3 ';
    case 0x20: case 0x28: case 0x30: return '<span class="warn">revok </span>';
    case 0x1f: return 'dirct ';
    case 0x18: return 'sbind ';
    default: return ` 0x${s.type.toString(16).padStart(2, '0')}`;
  }
}

const BLANK = '__________';

/** Finds the first user ID of an issuer key for vindex, at most `budget` lookups per page (SKS max_uid_fetches). */
export type IssuerName = (keyId: string) => string | undefined;

/** The issuer's two cells of a vindex signature line (its key ID and its name, each a link), by issuer key ID. */
type SignerCells = (issuerKeyId: string) => readonly [keyId: string, uid: string];

/** Signer cells as the signatures of one key (or subkey, `selfKeyId`) show them, each issuer's made once: a key with
 * 100 signatures has about 30 signers. */
function signerCells(selfKeyId: string, o: IndexOptions, issuerName: IssuerName): SignerCells {
  const made = new Map<string, readonly [string, string]>();
  return (id) => {
    let cells = made.get(id);
    if (cells === undefined) {
      let uid = id === selfKeyId ? '[selfsig]' : issuerName(id) || '[]';
      uid = uid.length > 1024 ? `[${uid.length}-byte uid]` : htmlQuote(uid);
      cells = [`<a href="${link('get', id, o)}">${id.slice(-8)}</a>`, `<a href="${link('vindex', id, o)}">${uid}</a>`];
      made.set(id, cells);
    }
    return cells;
  };
}

const NO_ISSUER = ['no keyid', '[]'] as const;

/** A signature's line and those SKS prints under it (policy URL, notation, designated revoker, in that order),
 * added to `lines`. `keyCreated`: creation of the key the signature sits on (the subkey's for a binding), from which
 * its key-expiration interval counts. */
function addSigLines(lines: string[], s: SignatureInfo, o: IndexOptions, now: number, cells: SignerCells, keyCreated: number): void {
  const created = s.created ? date(s.created) : BLANK;
  const sigExp = s.expires ? date(s.expires) : BLANK;
  const keyExp = s.keyExpires ? date(keyCreated + s.keyExpires) : BLANK;
  const [keyId, uid] = s.issuerKeyId ? cells(s.issuerKeyId) : NO_ISSUER;
  lines.push(`sig ${sigTypeLabel(s, now).padEnd(6)} ${keyId} ${created} ${sigExp} ${keyExp} ${uid}`);
  if (s.policyUrl !== undefined) {
    const url = htmlQuote(s.policyUrl);
    lines.push(`    Policy URL: <a href="${url}">${url}</a>`);
  }
  if (s.notation) {
    lines.push(`    Notation data: <span class="text-decoration: underline;">${htmlQuote(s.notation.name)}</span> ${htmlQuote(s.notation.value)}`);
  }
  if (s.revocationKey) {
    lines.push(`    Revocation key fingerprint: <a href="${link('vindex', s.revocationKey, o)}">${groupedFingerprint(s.revocationKey)}</a>`);
  }
}

/** One key in the verbose HTML listing with signatures (index.ml key_to_lines_verbose). */
export function htmlVindexLines(key: StoredKey, o: IndexOptions, issuerName: IssuerName, now = Date.now() / 1000): string[] {
  const info = key.info;
  const byTime = (a: SignatureInfo, b: SignatureInfo) => a.created - b.created;
  const pub =
    `<strong>pub</strong>  ${String(sksKeyBits(info)).padStart(4)}${algoLetter(info.algorithm)}/` +
    `<a href="${link('get', info.keyId, { hash: false, fingerprint: false })}">${info.keyId.slice(-8).padStart(8)}</a> ` +
    `${date(info.created)} ${info.version === 3 && info.expires ? date(info.expires) : '          '} `;
  const lines = ['</pre><hr /><pre>' + pub];
  const cells = signerCells(info.keyId, o, issuerName);
  for (const s of info.signatures) addSigLines(lines, s, o, now, cells, info.created);
  lines.push(...extraLines(key, o));
  for (const u of userIdsPrimaryFirst(info)) {
    lines.push('');
    if (u.kind === 'uid') {
      lines.push(u.text.length <= 1024 ? `<strong>uid</strong> <span class="uid">${htmlQuote(u.text)}</span>` : `<strong>uid</strong> [${u.text.length}-byte uid]`);
    } else lines.push('<strong>uat</strong> [contents omitted]');
    for (const s of [...u.signatures].sort(byTime)) addSigLines(lines, s, o, now, cells, info.created);
  }
  // Subkeys in stored order, each with its binding and revocation signatures (as SKS lists them).
  const subkeySigner: IssuerName = (id) => (id === info.keyId ? undefined : issuerName(id));
  for (const sk of info.subkeys) {
    lines.push('');
    lines.push(
      `<strong>sub</strong>  ${String(sksKeyBits(sk)).padStart(4)}${algoLetter(sk.algorithm)}/${sk.keyId.slice(-8).padStart(8)} ` +
        // the exp time column is the key packet's own expiry, which only v3 key packets hold (as on the pub line)
        // nothing after the dates, as SKS: a revoked subkey shows its `sig revok` line below (the key list says
        // "revoked" above the listing)
        `${date(sk.created)} ${sk.version === 3 && sk.expires ? date(sk.expires) : '          '} `,
    );
    // SKS 1.1.6 names the primary key's own signatures on a subkey (binding, revocation) `[]`, not `[selfsig]`
    const skCells = signerCells(sk.keyId, o, subkeySigner);
    for (const s of [...sk.signatures].sort(byTime)) addSigLines(lines, s, o, now, skCells, sk.created);
  }
  return lines;
}

/** Wraps listing lines into the <pre> block with SKS's header line. */
export function htmlListing(lines: string[], verbose: boolean): string {
  // Appended, not joined: each line is a rope of its pieces, and join() copies every one flat on its own before
  // copying it again into the result; appended, the page is made flat once, when it is encoded (a 100-signature
  // vindex: 20-30 µs less, issue 17).
  let out = verbose ? '<pre>Type bits/keyID     cr. time   exp time   key expir' : '<pre>Type bits/keyID     Date       User ID';
  for (const line of lines) out += '\r\n' + line;
  return out + '\r\n</pre>';
}
