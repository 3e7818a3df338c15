// Web Key Directory (draft-koch-openpgp-webkey-service) for the domains in `wkd_domains`:
//   advanced: /.well-known/openpgpkey/<domain>/hu/<hash>[?l=<local>]   (served as openpgpkey.<domain>)
//   direct:   /.well-known/openpgpkey/hu/<hash>[?l=<local>]            (domain from the Host header)
// <hash> is the z-base-32 SHA-1 of the lower-cased local part. The answer holds every non-revoked key with a
// user ID at that address, cut down to the user IDs of that domain (with their certifications), binary.
import { createHash } from 'node:crypto';
import { Router, type Request, type Response } from 'express';
import { uidEmail, readPackets, writePackets, TAG, type StoredKey, type Packet } from '@sks/keystore';
import type { DbContext } from './context.js';
import { sendError } from './http-util.js';

const ZB32 = 'ybndrfg8ejkmcpqxot1uwisza345h769';

export function zbase32(data: Buffer): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const b of data) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += ZB32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += ZB32[(value << (5 - bits)) & 31];
  return out;
}

/** The WKD hash of a local part: ASCII upper case is mapped to lower case (the draft's rule), then SHA-1. */
export function wkdHash(local: string): string {
  const lowered = local.replace(/[A-Z]/g, (c) => c.toLowerCase());
  return zbase32(createHash('sha1').update(lowered, 'utf8').digest());
}

function domainOf(addr: string): string {
  return addr.slice(addr.lastIndexOf('@') + 1).toLowerCase();
}

/** The key cut down to its user IDs at `domain` (non-revoked, with all their signatures), dropping user
 * attributes; the primary key, its direct signatures and the subkeys are kept. undefined if no user ID is left. */
export function keyForDomain(key: StoredKey, domain: string, wantHash?: string): Buffer | undefined {
  if (key.info.revoked) return undefined;
  const packets = readPackets(key.data);
  const out: Packet[] = [];
  let keep = true;
  let uidIndex = -1;
  let kept = 0;
  for (const p of packets) {
    if (p.tag === TAG.USER_ID || p.tag === TAG.USER_ATTRIBUTE) {
      uidIndex++;
      const info = key.info.userIds[uidIndex];
      const addr = p.tag === TAG.USER_ID ? uidEmail(p.body.toString('utf8')) : undefined;
      keep =
        addr !== undefined &&
        domainOf(addr) === domain &&
        !info?.revoked &&
        (wantHash === undefined || wkdHash(addr.slice(0, addr.lastIndexOf('@'))) === wantHash);
      if (keep) kept++;
    } else if (p.tag === TAG.PUBLIC_SUBKEY) {
      keep = true;
    }
    if (keep || p.tag === TAG.PUBLIC_KEY) out.push(p);
  }
  return kept > 0 ? writePackets(out) : undefined;
}

/** Per sks-db worker: the addresses at each WKD domain by hash, as read at one database version. */
const hashesByContext = new WeakMap<DbContext, Map<string, { version: number; byHash: Map<string, string[]> }>>();

/** The stored addresses at `domain` whose local part hashes to `hash`. Every address at the domain is read and
 * hashed once per database version (through the domain's partial index, see ensureDomainIndexes), so a domain's
 * lookups cost a map access until the store changes. */
function addressesWithHash(ctx: DbContext, domain: string, hash: string): string[] {
  let domains = hashesByContext.get(ctx);
  if (!domains) hashesByContext.set(ctx, (domains = new Map()));
  const version = ctx.dataVersion();
  let entry = domains.get(domain);
  if (!entry || entry.version !== version) {
    const byHash = new Map<string, string[]>();
    for (const addr of ctx.store.addressesAtDomain(domain)) {
      const h = wkdHash(addr.slice(0, addr.lastIndexOf('@')));
      const list = byHash.get(h);
      if (list) list.push(addr);
      else byHash.set(h, [addr]);
    }
    entry = { version, byHash };
    domains.set(domain, entry);
  }
  return entry.byHash.get(hash) ?? [];
}

/** Every key with a user ID at `domain` whose local part hashes to `hash` (`local`, when the client sent it and it
 * hashes to `hash`, names the address directly). */
export function wkdKeys(ctx: DbContext, domain: string, hash: string, local?: string): Buffer[] {
  const addresses = local ? [`${local}@${domain}`] : addressesWithHash(ctx, domain, hash);
  const out: Buffer[] = [];
  const seen = new Set<string>();
  for (const address of addresses) {
    for (const k of ctx.store.searchText(address, ctx.settings.max_index_results).keys) {
      if (seen.has(k.fingerprint)) continue;
      seen.add(k.fingerprint);
      const cut = keyForDomain(k, domain, hash);
      if (cut) out.push(cut);
    }
  }
  return out;
}

function hostDomain(req: Request): string {
  return String(req.headers.host ?? '').replace(/:\d+$/, '').replace(/^\[|\]$/g, '').toLowerCase();
}

export function wkdRouter(ctx: DbContext): Router {
  const r = Router();
  const domains = new Set(ctx.settings.wkd_domains.map((d) => d.toLowerCase()));
  const cors = (res: Response) => res.set('Access-Control-Allow-Origin', '*');

  const answer = (req: Request, res: Response, domain: string, hash: string) => {
    cors(res);
    if (!domains.has(domain)) return sendError(res, 404, `this server keeps no Web Key Directory for ${domain}`);
    if (!/^[ybndrfg8ejkmcpqxot1uwisza345h769]{32}$/.test(hash)) return sendError(res, 400, 'malformed WKD hash');
    const l = typeof req.query.l === 'string' ? req.query.l : undefined;
    const keys = wkdKeys(ctx, domain, hash, l && wkdHash(l) === hash ? l : undefined);
    if (keys.length === 0) return sendError(res, 404, 'No key for this address');
    res.status(200).type('application/octet-stream').end(Buffer.concat(keys));
  };
  const policy = (res: Response, domain: string) => {
    cors(res);
    if (!domains.has(domain)) return sendError(res, 404, `this server keeps no Web Key Directory for ${domain}`);
    res.status(200).type('text/plain').end('');
  };

  r.get('/hu/:hash', (req, res) => answer(req, res, hostDomain(req), req.params.hash!));
  r.get('/policy', (req, res) => policy(res, hostDomain(req)));
  r.get('/:domain/hu/:hash', (req, res) => answer(req, res, req.params.domain!.toLowerCase(), req.params.hash!));
  r.get('/:domain/policy', (req, res) => policy(res, req.params.domain!.toLowerCase()));
  r.use((_req, res) => sendError(res, 404, 'unknown Web Key Directory path'));
  return r;
}
