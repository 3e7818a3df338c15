// KeyInfo as stored in keys.info: compact JSON that still stores any field KeyInfo may gain later.
// - An object whose fields are exactly those of a known shape (a key, a user ID, a signature, a subkey, as KeyInfo
//   has them today) is stored as ["=", shape number, values in the shape's order]; other objects stay objects.
// - Strings equal to the key's own fingerprint or key ID (the issuer of every self-signature) are stored as "=F"
//   and "=K"; any other string starting with "=" gets one more "=" in front (so "=" never starts a real string).
// The whole is [fingerprint, keyId, body]. A plain JSON object (leading "{") is read as it is.
// SHAPES is append-only: stored rows refer to shapes by number.
import type { KeyInfo } from '../openpgp/types.js';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const SHAPES: readonly (readonly string[])[] = [
  ['type', 'issuerKeyId', 'issuerFingerprint', 'created', 'expires', 'keyExpires', 'self'],
  ['kind', 'text', 'created', 'expires', 'revoked', 'signatures'],
  ['version', 'fingerprint', 'keyId', 'algorithm', 'bits', 'created', 'expires', 'revoked'],
  ['version', 'fingerprint', 'keyId', 'algorithm', 'bits', 'created', 'expires', 'revoked', 'signatures', 'userIds', 'subkeys'],
];

function shapeOf(o: Record<string, unknown>): number {
  let n = 0;
  for (const k in o) if (o[k] !== undefined) n++;
  for (let s = 0; s < SHAPES.length; s++) {
    const shape = SHAPES[s]!;
    if (shape.length !== n) continue;
    let ok = true;
    for (const k of shape) {
      if (o[k] === undefined) {
        ok = false;
        break;
      }
    }
    if (ok) return s;
  }
  return -1;
}

function enc(v: unknown, fp: string, kid: string): Json {
  if (typeof v === 'string') {
    if (v === fp) return '=F';
    if (v === kid) return '=K';
    return v.charCodeAt(0) === 61 /* = */ ? '=' + v : v;
  }
  if (v === null || typeof v !== 'object') return v === undefined ? null : (v as Json);
  if (Array.isArray(v)) return v.map((x) => enc(x, fp, kid));
  const o = v as Record<string, unknown>;
  const s = shapeOf(o);
  if (s >= 0) {
    const shape = SHAPES[s]!;
    const out: Json[] = ['=', s];
    for (const k of shape) out.push(enc(o[k], fp, kid));
    return out;
  }
  const out: Record<string, Json> = {};
  for (const k in o) if (o[k] !== undefined) out[k] = enc(o[k], fp, kid);
  return out;
}

function dec(v: Json, fp: string, kid: string): unknown {
  if (typeof v === 'string') {
    if (v.charCodeAt(0) === 61) return v === '=F' ? fp : v === '=K' ? kid : v.slice(1);
    return v;
  }
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) {
    if (v[0] === '=') {
      const shape = SHAPES[v[1] as number];
      if (!shape) throw new Error(`stored key description uses unknown shape ${String(v[1])}`);
      const o: Record<string, unknown> = {};
      for (let i = 0; i < shape.length; i++) o[shape[i]!] = dec(v[i + 2]!, fp, kid);
      return o;
    }
    return v.map((x) => dec(x, fp, kid));
  }
  const out: Record<string, unknown> = {};
  for (const k in v) out[k] = dec(v[k]!, fp, kid);
  return out;
}

export function encodeInfo(info: KeyInfo): string {
  return JSON.stringify([info.fingerprint, info.keyId, enc(info, info.fingerprint, info.keyId)]);
}

export function decodeInfo(text: string): KeyInfo {
  const parsed = JSON.parse(text) as Json;
  if (!Array.isArray(parsed)) return parsed as unknown as KeyInfo;
  return dec(parsed[2]!, parsed[0] as string, parsed[1] as string) as KeyInfo;
}
