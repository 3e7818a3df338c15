// POST /pks/hashquery: how a recon peer fetches the keys it lacks (recon SPEC §5, SKS dbserver.ml). The wire format
// is @sks/hkp's codec; the answer has content type pgp/keys and, like every SKS body, ends with "\r\n". Unknown
// digests are skipped silently. A digest of any active recon profile's set is answered with the key in that
// profile's form, so the peer hashes exactly the packets we did.
import type { Request, Response } from 'express';
import type { DbContext } from './context.js';
import { decodeHashqueryRequest, encodeHashqueryResponse } from '@sks/hkp';
import { readBody, sendSks } from './http-util.js';

export async function handleHashquery(ctx: DbContext, req: Request, res: Response): Promise<void> {
  const body = await readBody(req, ctx.settings.max_body_bytes);
  const digests = decodeHashqueryRequest(body, ctx.settings.max_hashquery_keys);
  const keys: Buffer[] = [];
  const seen = new Set<string>();
  for (const d of digests) {
    if (seen.has(d)) continue;
    seen.add(d);
    const k = ctx.store.keyForPeer(d);
    if (k) keys.push(k);
  }
  ctx.logger.debug('hashquery answered', { asked: digests.length, found: keys.length });
  sendSks(res, { type: 'pgp/keys', body: encodeHashqueryResponse(keys), count: keys.length });
}
