// Signed blocklist entries: how one operator tells the servers that trust them to refuse and remove a key (what CKS
// planned and never built because it needs authentication). Each entry is one OpenPGP cleartext-signed message, so
// an entry can be checked, applied or refused on its own; a published list is the entries one after another:
//
//   -----BEGIN PGP SIGNED MESSAGE-----
//   Hash: SHA512
//
//   sks-blocklist-entry: 1
//   fingerprint: <40 or 64 hex digits, the primary key's>
//   reason: <text, one line>
//   issued: <ISO 8601 time, UTC>
//   -----BEGIN PGP SIGNATURE-----
//   ...
//   -----END PGP SIGNATURE-----
//
// The signature must be made by a key the receiving operator lists as trusted (its primary key or a signing
// subkey). Signing and checking use openpgp.js: these are documents, not keys the store holds. It is loaded on
// first use, so the processes that never sign or check (sks-db's workers) do not pay for loading it.
import type * as openpgp from 'openpgp';
import { FINGERPRINT_RE, fieldsOf, isoSeconds } from './signed-fields.js';

const pgp = () => import('openpgp');

export interface BlocklistEntry {
  fingerprint: string;
  reason: string;
  /** Unix seconds. */
  issued: number;
}

export interface CheckedEntry {
  entry: BlocklistEntry;
  /** Primary fingerprint of the trusted key that signed it. */
  signer: string;
}

export interface RefusedEntry {
  /** Why the entry was not applied: not signed, signed by a key not trusted, bad signature, unreadable. */
  problem: string;
  /** The fingerprint it named, when readable. */
  fingerprint?: string;
}

const BLOCK_RE = /-----BEGIN PGP SIGNED MESSAGE-----[\s\S]*?-----END PGP SIGNATURE-----/g;

/** The signed text of one entry. */
export function entryText(e: BlocklistEntry): string {
  const reason = e.reason.replace(/[\r\n]+/g, ' ').trim();
  return `sks-blocklist-entry: 1\nfingerprint: ${e.fingerprint.toUpperCase()}\nreason: ${reason}\n`
    + `issued: ${isoSeconds(e.issued)}\n`;
}

/** Reads the text of an entry; a message with anything else in it is not an entry. */
export function parseEntryText(text: string): BlocklistEntry | undefined {
  const fields = fieldsOf(text.split(/\r?\n/));
  if (!fields) return undefined;
  const fpr = fields.get('fingerprint')?.toUpperCase() ?? '';
  const issued = Date.parse(fields.get('issued') ?? '');
  if (fields.get('sks-blocklist-entry') !== '1' || !FINGERPRINT_RE.test(fpr) || !fields.get('reason') || Number.isNaN(issued)
    || fields.size !== 4) return undefined;
  return { fingerprint: fpr, reason: fields.get('reason')!, issued: Math.floor(issued / 1000) };
}

/** Reads the operator's secret key (armored, unprotected). */
export async function readSigningKey(armored: string): Promise<openpgp.PrivateKey> {
  const key = await (await pgp()).readPrivateKey({ armoredKey: armored });
  if (!key.isDecrypted()) throw new Error('the blocklist signing key is passphrase-protected; export it without a passphrase for the server');
  return key;
}

/** One entry as a cleartext-signed message. */
export async function signEntry(e: BlocklistEntry, key: openpgp.PrivateKey): Promise<string> {
  const lib = await pgp();
  const message = await lib.createCleartextMessage({ text: entryText(e) });
  return lib.sign({ message, signingKeys: key, format: 'armored' });
}

/** The signed messages of a published list, as text blocks (anything between them is ignored). */
export function splitSignedEntries(text: string): string[] {
  return text.match(BLOCK_RE) ?? [];
}

/** Reads armored public keys (a file of trusted signers, or our stored copies armored). */
export async function readTrustedKeys(armoredOrBinary: Array<string | Uint8Array>): Promise<openpgp.PublicKey[]> {
  const lib = await pgp();
  const out: openpgp.PublicKey[] = [];
  for (const k of armoredOrBinary) {
    if (typeof k === 'string') out.push(...(await lib.readKeys({ armoredKeys: k })));
    else out.push(...(await lib.readKeys({ binaryKeys: k })));
  }
  return out;
}

/** Checks every entry of a published list against the trusted keys: each is applied or refused on its own. */
export async function checkSignedEntries(text: string, trusted: openpgp.PublicKey[]):
  Promise<{ accepted: CheckedEntry[]; refused: RefusedEntry[] }> {
  const lib = await pgp();
  const accepted: CheckedEntry[] = [];
  const refused: RefusedEntry[] = [];
  for (const block of splitSignedEntries(text)) {
    let message: openpgp.CleartextMessage;
    try {
      message = await lib.readCleartextMessage({ cleartextMessage: block });
    } catch (e) {
      refused.push({ problem: `unreadable signed message: ${(e as Error).message}` });
      continue;
    }
    const entry = parseEntryText(message.getText());
    if (!entry) {
      refused.push({ problem: 'the signed text is not a blocklist entry' });
      continue;
    }
    if (trusted.length === 0) {
      refused.push({ problem: 'no trusted signer key is available', fingerprint: entry.fingerprint });
      continue;
    }
    try {
      const result = await lib.verify({ message, verificationKeys: trusted, expectSigned: true });
      const sig = result.signatures[0]!;
      await sig.verified; // throws unless a trusted key made a valid signature over exactly this text
      const signer = trusted.find((k) => k.getKeys(sig.keyID).length > 0)!;
      accepted.push({ entry, signer: signer.getFingerprint().toUpperCase() });
    } catch (e) {
      refused.push({ problem: `signature not valid for a trusted key: ${(e as Error).message}`, fingerprint: entry.fingerprint });
    }
  }
  return { accepted, refused };
}
