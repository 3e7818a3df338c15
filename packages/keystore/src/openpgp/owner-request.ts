// A key owner's request to remove their key (what users ask of every keyserver: Hockeypuck #96, #136, #229).
// The owner signs this text with the key itself (`gpg --clearsign`), so only who holds the secret key can ask:
//
//   sks-delete-request: 1
//   fingerprint: <40 or 64 hex digits of the key to remove>
//   issued: <ISO 8601 time, UTC>
//   expires: <ISO 8601 time, UTC>
//
// It is checked against the stored copy of that key (primary key or a signing subkey the stored copy binds), must be
// current (issued no later than now plus a little clock skew, not expired, valid for at most a set time) and is
// used once: the store remembers each request it carried out by its key and issue time, which the signature covers
// (a copy with other armor or unhashed subpackets is the same request). openpgp.js does the signature check; it is
// loaded on first use.
import { FINGERPRINT_RE, fieldsOf, isoSeconds } from './signed-fields.js';

const pgp = () => import('openpgp');

export interface DeletionRequest {
  fingerprint: string;
  /** Unix seconds. */
  issued: number;
  expires: number;
}

export type RequestCheck =
  | { ok: true; request: DeletionRequest; signer: string; text: string }
  | { ok: false; status: 400 | 403 | 404; problem: string; /** the key the request names, when readable */ fingerprint?: string };

const NOT_A_REQUEST = 'this is not a signed deletion request: sign the text "sks-delete-request: 1", "fingerprint: ...", '
  + '"issued: ...", "expires: ..." with gpg --clearsign using the key to remove';

/** Clock skew allowed for `issued` in the future. */
const FUTURE_SKEW_S = 300;

export function deletionRequestText(fingerprint: string, issued: number, expires: number): string {
  return `sks-delete-request: 1\nfingerprint: ${fingerprint.toUpperCase()}\nissued: ${isoSeconds(issued)}\nexpires: ${isoSeconds(expires)}\n`;
}

function parseRequestText(text: string): DeletionRequest | undefined {
  const fields = fieldsOf(text.split(/\r?\n/).map((l) => l.trim()));
  if (!fields) return undefined;
  const fpr = (fields.get('fingerprint') ?? '').replace(/\s+/g, '').toUpperCase();
  const issued = Date.parse(fields.get('issued') ?? '');
  const expires = Date.parse(fields.get('expires') ?? '');
  if (fields.get('sks-delete-request') !== '1' || fields.size !== 4 || !FINGERPRINT_RE.test(fpr)
    || Number.isNaN(issued) || Number.isNaN(expires)) return undefined;
  return { fingerprint: fpr, issued: Math.floor(issued / 1000), expires: Math.floor(expires / 1000) };
}

/** Checks a signed request against the stored copy of the key it names (`storedKey` looks it up: its packets as
 * stored, undefined when not stored). */
export async function checkDeletionRequest(signed: string, storedKey: (fingerprint: string) => Uint8Array | undefined,
  now: number, maxValidityS: number): Promise<RequestCheck> {
  const lib = await pgp();
  let message;
  try {
    message = await lib.readCleartextMessage({ cleartextMessage: signed.trim() });
  } catch {
    return { ok: false, status: 400, problem: NOT_A_REQUEST };
  }
  const text = message.getText();
  const request = parseRequestText(text);
  if (!request) return { ok: false, status: 400, problem: NOT_A_REQUEST };
  const stored = storedKey(request.fingerprint);
  if (!stored) {
    return { ok: false, status: 404, problem: 'no key with this fingerprint is stored here', fingerprint: request.fingerprint };
  }
  if (request.issued > now + FUTURE_SKEW_S) return { ok: false, status: 400, problem: 'the request is issued in the future' };
  if (request.expires <= now) return { ok: false, status: 400, problem: 'the request has expired; sign a new one' };
  if (request.expires - request.issued > maxValidityS) {
    return { ok: false, status: 400, problem: `a request may be valid for at most ${maxValidityS} s (owner_delete_max_validity_s)` };
  }
  let key;
  try {
    key = await lib.readKey({ binaryKey: stored });
  } catch (e) {
    return { ok: false, status: 403, problem: `the stored key cannot check signatures: ${(e as Error).message}` };
  }
  if (key.getFingerprint().toUpperCase() !== request.fingerprint) {
    return { ok: false, status: 400, problem: 'the request names another key than the one it was checked against' };
  }
  try {
    const result = await lib.verify({ message, verificationKeys: key, expectSigned: true, date: new Date(now * 1000) });
    const sig = result.signatures[0]!;
    await sig.verified;
    const signer = key.getKeys(sig.keyID)[0]!.getFingerprint().toUpperCase();
    return { ok: true, request, signer, text };
  } catch (e) {
    return { ok: false, status: 403, problem: `not signed by the key it asks to remove: ${(e as Error).message}` };
  }
}
