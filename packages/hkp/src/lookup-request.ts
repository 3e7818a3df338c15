// /pks/lookup requests as HKP clients send them (HKP draft §3, SKS request.ml): the operation, its options and the
// search term, read and checked before any server work. A request no server could answer throws HttpError.
//
// Search terms: `0x` + 8 or 16 hex digits = short/long key ID of a primary key or subkey; `0x` + 32/40/64 hex (or
// 40/64 hex without `0x`) = fingerprint; anything else = words of a user ID or an e-mail address.
import { unescape } from 'node:querystring';
import { bracketedAddress } from '@sks/keystore';
import { HttpError } from './http-error.js';
import { queryParam, type Query } from './query.js';

/** Longest search term read (longer ones are refused before any work). */
export const MAX_SEARCH_CHARS = 1000;

export type LookupOp = 'get' | 'index' | 'vindex' | 'hget' | 'stats';

export interface LookupRequest {
  op: LookupOp;
  search: string;
  mr: boolean;
  json: boolean;
  fingerprint: boolean;
  hash: boolean;
  exact: boolean;
  /** -1 = no limit asked. */
  limit: number;
}

const OPS: Record<string, LookupOp> = {
  get: 'get', 'x-get': 'get', index: 'index', 'x-index': 'index', vindex: 'vindex', 'x-vindex': 'vindex',
  hget: 'hget', 'x-hget': 'hget', stats: 'stats', 'x-stats': 'stats',
};

function onOff(query: Query, ...names: string[]): boolean {
  let v = false;
  for (const n of names) {
    const s = queryParam(query, n);
    if (s === undefined) continue;
    if (/^(on|1|true|yes)$/i.test(s)) v = true;
    else if (/^(off|0|false|no)$/i.test(s)) v = false;
    else throw new HttpError(400, `${n}=${s} is not understood; use ${n}=on or ${n}=off`);
  }
  return v;
}

/** The search term of a lookup as read: trimmed; refused (400) when missing where `op` needs one, or too long. */
function searchTerm(op: LookupOp, raw: string): string {
  const search = raw.trim();
  if (op !== 'stats' && search === '') throw new HttpError(400, `op=${op} needs a search= term`);
  if (search.length > MAX_SEARCH_CHARS) throw new HttpError(400, `the search term is longer than ${MAX_SEARCH_CHARS} characters`);
  return search;
}

/** Reads the query string of a lookup; throws HttpError 400/501 for what no server could answer. */
export function parseLookup(query: Query): LookupRequest {
  const opRaw = queryParam(query, 'op');
  // No op, or an empty one, is a malformed request (400). An op we do not know is one the HKP draft says a server
  // answers 501 Not Implemented, as GnuPG and the network's spiders expect (docs/ANSWERS.md).
  if (opRaw === undefined || opRaw.trim() === '') throw new HttpError(400, 'missing op= (one of get, index, vindex, hget, stats)');
  const op = OPS[opRaw.toLowerCase()];
  if (!op) throw new HttpError(501, `op=${opRaw} is not supported; use get, index, vindex, hget or stats`);
  const options = (queryParam(query, 'options') ?? '').toLowerCase().split(',').map((s) => s.trim());
  const limitRaw = queryParam(query, 'limit');
  let limit = -1;
  if (limitRaw !== undefined && limitRaw !== '') {
    if (!/^-?\d{1,9}$/.test(limitRaw)) throw new HttpError(400, `limit=${limitRaw} is not a whole number`);
    limit = Number(limitRaw);
  }
  const search = searchTerm(op, queryParam(query, 'search') ?? '');
  return {
    op,
    search,
    mr: options.includes('mr'),
    json: options.includes('json'),
    fingerprint: onOff(query, 'fingerprint', 'x-fingerprint'),
    hash: onOff(query, 'hash', 'x-hash'),
    exact: onOff(query, 'exact', 'x-exact'),
    limit,
  };
}

/** A %XX escape that decodes (querystring.parse decodes a value only if it holds one). */
const VALID_ESCAPE = /%[0-9A-Fa-f]{2}/;

/** GnuPG's key search (`gpg --search-keys`), its fields in the order dirmngr sends them. */
const GNUPG_INDEX = /^op=index&options=mr&search=([^&]*)$/;

/** The search term of a query string spelled as GnuPG's key search (`op=index&options=mr&search=...`), decoded as
 * node's querystring.parse decodes it ('+' is a space, then %XX escapes); undefined for any other query string. A
 * server answers this, most of what it is asked besides op=get, without parsing the query (mrIndexRequest). */
export function gnupgIndexSearch(qs: string): string | undefined {
  const raw = GNUPG_INDEX.exec(qs)?.[1];
  if (raw === undefined) return undefined;
  if (!raw.includes('+')) return VALID_ESCAPE.test(raw) ? unescape(raw) : raw;
  // querystring.parse decodes a value only when it sees a valid %XX escape (then as unescape does), and looks for one
  // in the value as sent with its '+' skipped: '%+4+1' counts as one, though '%' is followed by a space once decoded
  const spaced = raw.replace(/\+/g, ' ');
  return VALID_ESCAPE.test(raw.replace(/\+/g, '')) ? unescape(spaced) : spaced;
}

/** What parseLookup gives for `op=index&options=mr&search=<search>` (GnuPG's key search), without reading a query;
 * undefined where parseLookup refuses the search (empty, or longer than MAX_SEARCH_CHARS). */
export function mrIndexRequest(search: string): LookupRequest | undefined {
  let s: string;
  try {
    s = searchTerm('index', search);
  } catch {
    return undefined; // the general path refuses it, with its message
  }
  return { op: 'index', search: s, mr: true, json: false, fingerprint: false, hash: false, exact: false, limit: -1 };
}

export type SearchTerm =
  | { kind: 'keyid'; hex: string }
  | { kind: 'fingerprint'; hex: string }
  | { kind: 'text'; text: string };

/** Classifies a search term. Throws HttpError 400 for a `0x` term that is no key ID or fingerprint. */
export function classifySearch(search: string): SearchTerm {
  const s = search.replace(/\s+/g, '');
  const ox = /^0x([0-9a-f]+)$/i.exec(s);
  if (ox) {
    const hex = ox[1]!.toUpperCase();
    if (hex.length === 8 || hex.length === 16) return { kind: 'keyid', hex };
    if (hex.length === 32 || hex.length === 40 || hex.length === 64) return { kind: 'fingerprint', hex };
    throw new HttpError(400, `0x${hex} is ${hex.length} hex digits long: a key ID has 8 or 16, a fingerprint 32, 40 or 64`);
  }
  // Fingerprints pasted with spaces ("ABCD 1234 ...") or without 0x are common; accept 40 and 64 digits.
  if (/^([0-9a-f]{40}|[0-9a-f]{64})$/i.test(s)) return { kind: 'fingerprint', hex: s.toUpperCase() };
  const text = search.trim();
  return { kind: 'text', text: bracketedAddress(text) ?? text };
}
