// The readable list of keys on result, listing and key pages: per key its name, fingerprint in groups of four, user
// IDs, creation date and algorithm, a download link (a .asc file) and the GnuPG command that fetches it. It sits
// above SKS's <pre> listing (index-format.ts), which stays as SKS writes it for the scripts that scrape it: no line
// of this list starts with the words SKS's lines start with (pub, sub, sig, uid).
import type { KeyFacts } from '@sks/keystore';
import { htmlQuote } from './layout.js';

/** A fingerprint in groups of four hex digits, as keys.openpgp.org and GnuPG show them. */
export function fingerprintInFours(fpr: string): string {
  return (fpr.match(/.{1,4}/g) ?? []).join(' ');
}

/** The algorithm as a person reads it ("RSA, 4096 bits", "Ed25519"). */
export function algorithmName(algorithm: number, bits: number): string {
  switch (algorithm) {
    case 1: case 2: case 3: return `RSA, ${bits} bits`;
    case 16: case 20: return `ElGamal, ${bits} bits`;
    case 17: return `DSA, ${bits} bits`;
    case 18: return bits === 255 || bits === 256 ? 'Curve25519 (ECDH)' : `ECDH, ${bits} bits`;
    case 19: return `ECDSA, ${bits} bits`;
    case 22: return bits === 255 || bits === 256 ? 'Ed25519' : bits === 448 ? 'Ed448' : `EdDSA, ${bits} bits`;
    case 25: return 'X25519';
    case 26: return 'X448';
    case 27: return 'Ed25519';
    case 28: return 'Ed448';
    default: return `algorithm ${algorithm}, ${bits} bits`;
  }
}

function day(unix: number): string {
  return new Date(unix * 1000).toISOString().slice(0, 10);
}

/** Where the key is downloaded as a file: the VKS address (vks.ts), answered with `Content-Disposition: attachment;
 * filename=<FPR>.asc`. The HKP answers stay as SKS sends them, so GnuPG and scrapers see no change. */
export function downloadPath(info: Pick<KeyFacts, 'fingerprint' | 'keyId'>): string {
  return info.fingerprint.length === 32 ? `/vks/v1/by-keyid/${info.keyId}` : `/vks/v1/by-fingerprint/${info.fingerprint}`;
}

/** What a lookup link searches for: the whole fingerprint (v4, v6), the key ID of a v3 key. */
function searchOf(info: KeyFacts): string {
  return `0x${info.fingerprint.length === 32 ? info.keyId : info.fingerprint}`;
}

/** One key of the list; `n` numbers it (and its ids). Its name is on a line that starts with that number, so no line
 * of the list starts with a user ID's text (one might read "pub ..." like a line of SKS's listing). From the key's
 * facts (keyFacts), which a key of many signatures keeps stored with its listing. */
function keyCard(info: KeyFacts, n: number, now: number): string {
  const uids = [...info.userIds.filter((u) => u.primary), ...info.userIds.filter((u) => !u.primary)];
  const texts = uids.map((u) => (u.text !== null ? htmlQuote(u.text) : '[photo or other user attribute]'));
  const name = uids.find((u) => u.text !== null)?.text ?? undefined;
  const search = searchOf(info);
  const vindex = `/pks/lookup?op=vindex&amp;fingerprint=on&amp;search=${search}`;
  const get = `/pks/lookup?op=get&amp;search=${search}`;
  const status: string[] = [];
  if (info.revoked) status.push('<strong class="warn">revoked</strong>');
  if (info.expires !== null) {
    status.push(info.expires < now ? `<strong class="warn">expired ${day(info.expires)}</strong>` : `expires ${day(info.expires)}`);
  }
  const subkeys = info.subkeys === 0 ? '' : `, ${info.subkeys} subkey${info.subkeys === 1 ? '' : 's'}`;
  const file = `${info.fingerprint}.asc`;
  return (
    `<li class="key" aria-labelledby="key-${n}">\n` +
    `<h2 class="key-name" id="key-${n}"><span class="n">${n}.</span> <a href="${vindex}">${name === undefined ? 'Key without a user ID' : htmlQuote(name)}</a></h2>\n` +
    '<dl class="key-facts">\n' +
    `<div><dt>Fingerprint</dt><dd><code class="fpr">${fingerprintInFours(info.fingerprint)}</code></dd></div>\n` +
    `<div><dt>Created</dt><dd>${day(info.created)}, ${algorithmName(info.algorithm, info.bits)}${subkeys}` +
    `${status.length > 0 ? '; ' + status.join(', ') : ''}</dd></div>\n` +
    `<div><dt>User IDs</dt><dd><ul class="uids">${texts.map((t) => `<li>${t}</li>`).join('')}</ul></dd></div>\n` +
    '</dl>\n' +
    `<p class="key-links"><a class="download" href="${downloadPath(info)}" download="${file}" aria-describedby="key-${n}">Download the key (.asc file)</a> ` +
    `<a class="view" href="${get}" aria-describedby="key-${n}">View the key</a> ` +
    `<a class="sigs" href="${vindex}" aria-describedby="key-${n}">Signatures</a></p>\n` +
    `<p class="recv">Import with GnuPG: <code class="cmd">gpg --recv-keys ${info.fingerprint}</code></p>\n` +
    '</li>'
  );
}

/** The list of keys, in the order given. */
export function keyCards(keys: KeyFacts[], now = Date.now() / 1000): string {
  return `<ol class="keys">\n${keys.map((k, i) => keyCard(k, i + 1, now)).join('\n')}\n</ol>`;
}

/** The line above the list: how many keys, for which search. */
export function resultSummary(shown: number, total: number, search: string): string {
  const what = `<q>${htmlQuote(search)}</q>`;
  const keys = (n: number) => `${n} key${n === 1 ? '' : 's'}`;
  return `<p class="summary">${total > shown ? `${keys(total)} match ${what}; the first ${shown} are shown.` : `${keys(shown)} found for ${what}.`}</p>`;
}
