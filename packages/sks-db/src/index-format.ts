// The answers to op=index and op=vindex: machine-readable lines (HKP draft §5.2, SKS mRindex.ml) and the HTML
// pre-formatted listing SKS writes (index.ml, htmlTemplates.ml), so scripts that scrape either keep working.
import {
  algoLetter, extraListingLines, linkOptions, listingDate, mrLines, readPackets, renderListing, renderStoredPage, sksKeyBits, userIdsPrimaryFirst,
  type KeyInfo, type ListingOptions, type Packet, type StoredKey, type StoredPage,
} from '@sks/keystore';
import { htmlQuote } from './http-util.js';

/** Options of the request that change the listing. */
export type IndexOptions = ListingOptions;

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

function link(op: string, keyid: string, o: IndexOptions): string {
  return `/pks/lookup?op=${op}${linkOptions(o)}&amp;search=0x${keyid}`;
}

/** User IDs for the short listing: the primary one first, as SKS shows them, the others in stored order. */
function uidTexts(info: KeyInfo): string[] {
  return userIdsPrimaryFirst(info).map((u) => (u.kind === 'uid' ? htmlQuote(u.text) : '[user attribute packet]'));
}

/** One key in the short HTML listing (index.ml key_to_lines_normal), each line preceded by CRLF. */
export function htmlIndexText(key: StoredKey, o: IndexOptions): string {
  const info = key.info;
  const short = info.keyId.slice(-8);
  const userids = uidTexts(info);
  if (userids.length > 0) userids[0] = `<a href="${link('vindex', info.keyId, o)}">${userids[0]}</a>`;
  const revoked = info.revoked ? ' *** KEY REVOKED *** [not verified]\r\n                              ' : '';
  const keystr =
    `pub  ${String(sksKeyBits(info)).padStart(4)}${algoLetter(info.algorithm)}/` +
    `<a href="${link('get', info.keyId, { hash: false, fingerprint: false })}">${short.padStart(8)}</a> ` +
    `${listingDate(info.created)}${revoked} ` +
    userids.join('\r\n                               ');
  return `\r\n</pre><hr /><pre>\r\n${keystr}${extraListingLines(o, key.digest, key.fingerprint)}`;
}

/** One key in the verbose listing with signatures (index.ml key_to_lines_verbose), each line preceded by CRLF, UTF-8:
 * its listing (stored with the key, or made from its description) filled in for this request, from its stored page
 * when `names` is 'page' (its signers' names are in it), else from its template with these names. */
export function htmlVindexText(
  listing: { signers: string; digest: string; fingerprint: string; page: StoredPage | null; vindex?: string }, o: IndexOptions,
  names: ReadonlyMap<string, string | undefined> | 'page', now = Date.now() / 1000,
): Buffer {
  const fill = { options: o, now, extra: extraListingLines(o, listing.digest, listing.fingerprint) };
  if (names === 'page') {
    if (!listing.page) throw new Error('htmlVindexText: the listing has no page');
    return renderStoredPage(listing.page, fill);
  }
  if (listing.vindex === undefined) throw new Error('htmlVindexText: the listing has no template');
  return renderListing(listing.vindex, listing.signers, { ...fill, names });
}

/** The <pre> block around the keys' lines (htmlIndexText, htmlVindexText): its start with SKS's header line, and its
 * end. */
export function listingHead(verbose: boolean): string {
  return verbose ? '<pre>Type bits/keyID     cr. time   exp time   key expir' : '<pre>Type bits/keyID     Date       User ID';
}
export const LISTING_END = '\r\n</pre>';
