// Preparing a key for the store without the database: canonical form, policy, digest, description. Pure, so the
// bulk loader can run it in worker threads and hand the results to the thread that owns the store.
import type { KeyInfo, Packet } from '../openpgp/types.js';
import { TAG } from '../openpgp/types.js';
import { canonicalizeKey } from '../openpgp/merge.js';
import { describeKey, fingerprintOf } from '../openpgp/key.js';
import { writePackets } from '../openpgp/packet.js';
import { sksDigest } from '../openpgp/digest.js';
import { applyPolicy, type Policy } from '../policy.js';
import type { PreparedBlock, StoredForm } from './types.js';
import { profileForms } from './profile-forms.js';
import { keySummary } from './summary.js';

const EMAIL = /^[^\s<>@]+@[^\s<>@]+$/;
const HEX16 = /^[0-9A-Fa-f]{16}$/;

/** Characters of user-ID text indexed per key when no policy says otherwise (setting word_index_max_chars). */
export const WORD_INDEX_MAX_CHARS = 8192;

const NOT_IN_ADDRESS = /[<>\s]/;

/** "<local@domain>" → "local@domain": an angle-bracketed token without spaces or brackets with an '@' that is
 * neither its first nor its last character; else undefined. A check of the characters, linear in the input (a
 * regular expression for it backtracked quadratically on a user ID like "<a@a@a@…" without a closing bracket). */
export function bracketedAddress(text: string): string | undefined {
  if (text.length < 5 || text[0] !== '<' || text[text.length - 1] !== '>') return undefined;
  const inner = text.slice(1, -1);
  if (NOT_IN_ADDRESS.test(inner)) return undefined;
  const at = inner.indexOf('@', 1);
  return at > 0 && at < inner.length - 1 ? inner : undefined;
}

/** The address of a user ID, as written: the last <...> in it holding an address, or the whole user ID if it is an
 * address. One pass over the text. */
export function uidEmail(text: string): string | undefined {
  let found: string | undefined;
  for (let open = text.indexOf('<'); open >= 0; ) {
    // the token runs to the first '<', '>' or white space after the '<'
    let end = open + 1;
    while (end < text.length && !NOT_IN_ADDRESS.test(text[end]!)) end++;
    if (text[end] === '>') {
      const address = bracketedAddress(text.slice(open, end + 1));
      if (address) found = address;
    }
    open = text.indexOf('<', end);
  }
  if (found) return found;
  const whole = text.trim();
  return EMAIL.test(whole) ? whole : undefined;
}

/** Lower-case addresses of a key's user IDs (see uidEmail). */
export function emailsOf(info: KeyInfo): string[] {
  const out = new Set<string>();
  for (const u of info.userIds) {
    if (u.kind !== 'uid') continue;
    const address = uidEmail(u.text);
    if (address) out.add(address.toLowerCase());
  }
  return [...out];
}

/** The short ID (low 32 bits) of a 16-hex key ID, as stored in key_ids.short_id. */
export function shortOf(hex16: string): number {
  return parseInt(hex16.slice(8), 16);
}

/** (short ID, fingerprint, long ID) of the primary key and every subkey, each once. */
export function keyIdsOf(info: KeyInfo): Array<[number, Buffer, Buffer]> {
  const out: Array<[number, Buffer, Buffer]> = [];
  const seen = new Set<string>();
  for (const k of [info, ...info.subkeys]) {
    if (!HEX16.test(k.keyId) || seen.has(k.fingerprint)) continue;
    seen.add(k.fingerprint);
    out.push([shortOf(k.keyId), Buffer.from(k.fingerprint, 'hex'), Buffer.from(k.keyId, 'hex')]);
  }
  return out;
}

/** The text of a key's user IDs for the word index: at most `maxChars` characters. */
export function uidText(info: KeyInfo, maxChars = WORD_INDEX_MAX_CHARS): string {
  let out = '';
  for (const u of info.userIds) {
    if (u.kind !== 'uid') continue;
    out += (out === '' ? '' : '\n') + u.text.slice(0, maxChars - out.length);
    if (out.length >= maxChars) break;
  }
  return out.slice(0, maxChars);
}

/** key_ids rows in StoredForm's packed layout. */
export function packKeyIds(rows: Array<[number, Buffer, Buffer]>): Buffer {
  let size = 0;
  for (const [, fpr] of rows) size += 4 + 1 + fpr.length + 8;
  const out = Buffer.allocUnsafe(size);
  let o = 0;
  for (const [short, fpr, long] of rows) {
    o = out.writeUInt32BE(short >>> 0, o);
    o = out.writeUInt8(fpr.length, o);
    o += fpr.copy(out, o);
    o += long.copy(out, o, 0, 8);
  }
  return out;
}

/** Reads StoredForm.keyIds back into rows (the Buffers are views of `packed`). */
export function unpackKeyIds(packed: Uint8Array): Array<[number, Buffer, Buffer]> {
  const b = Buffer.isBuffer(packed) ? packed : Buffer.from(packed.buffer, packed.byteOffset, packed.byteLength);
  const out: Array<[number, Buffer, Buffer]> = [];
  let o = 0;
  while (o < b.length) {
    if (o + 5 > b.length) throw new Error('packed key IDs are truncated');
    const short = b.readUInt32BE(o);
    const len = b[o + 4]!;
    const end = o + 5 + len + 8;
    if (end > b.length) throw new Error('packed key IDs are truncated');
    out.push([short, b.subarray(o + 5, o + 5 + len), b.subarray(o + 5 + len, end)]);
    o = end;
  }
  return out;
}

/** What the store writes for a new key with this description (see StoredForm). */
export function storedForm(info: KeyInfo, packets: readonly Packet[], data: Uint8Array, wordIndexMaxChars?: number): StoredForm {
  return {
    version: info.version,
    keyIds: packKeyIds(keyIdsOf(info)),
    emails: emailsOf(info),
    words: uidText(info, wordIndexMaxChars),
    ...keySummary(info, packets, data),
  };
}

/** Fingerprint of a key block's primary key, or undefined if it has none that can be read. */
export function primaryFingerprint(packets: Packet[]): string | undefined {
  const first = packets[0];
  if (!first || (first.tag !== TAG.PUBLIC_KEY && first.tag !== TAG.SECRET_KEY)) return undefined;
  try {
    return fingerprintOf(first.body);
  } catch {
    return undefined;
  }
}

/** Canonicalizes one key, applies policy, computes digest, data, description and the key's form in every other
 * active recon profile (profile-forms.ts). Pure (no database), so it can
 * run in worker threads. The blocklist is not checked here: the store does that in upsert. */
export function prepareKey(packets: Packet[], policy: Policy): PreparedBlock {
  // The fingerprint only matters for a refusal (a stored key's comes from its description): computed then.
  const fingerprintIfAny = () => primaryFingerprint(packets);
  try {
    if (packets.length === 0) return { ok: false, reason: 'no-primary-key', detail: 'an empty key block' };
    let size = 0;
    for (const p of packets) size += p.body.length;
    if (size > policy.maxInputKeyBytes) {
      return {
        ok: false, reason: 'key-too-large', fingerprint: fingerprintIfAny(),
        detail: `${size} bytes of packets as received, more than max_input_key_bytes ${policy.maxInputKeyBytes}`,
      };
    }
    if (packets[0]!.tag !== TAG.PUBLIC_KEY || packets.some((p) => p.tag === TAG.SECRET_KEY || p.tag === TAG.SECRET_SUBKEY)) {
      // Not a public key at all (secret key, stray packets): policy names the reason before canonical form is tried.
      const refused = applyPolicy(packets, policy);
      if (!refused.ok) return { ok: false, reason: refused.reason, detail: refused.detail, fingerprint: fingerprintIfAny() };
    }
    const outcome = applyPolicy(canonicalizeKey(packets), policy);
    if (!outcome.ok) return { ok: false, reason: outcome.reason, detail: outcome.detail, fingerprint: fingerprintIfAny() };
    const info = describeKey(outcome.key);
    return {
      ok: true,
      key: {
        fingerprint: info.fingerprint,
        digest: sksDigest(outcome.key),
        data: writePackets(outcome.key),
        info,
        cuts: outcome.cuts,
        packets: outcome.key,
        profiles: profileForms(outcome.key, policy),
      },
    };
  } catch (e) {
    return { ok: false, reason: 'malformed', detail: (e as Error).message, fingerprint: fingerprintIfAny() };
  }
}
