// POST /pks/delete: a key owner removes their key with a request signed by that key (keystore's
// openpgp/owner-request.ts says what a request is and checks it). The key is removed and blocklisted with the
// reason, so it is refused on every path from then on, and the removal reaches the operators who trust our signed
// blocklist (push sync). Body: the cleartext-signed request, as text/plain, or as the form field `request`.
import type { Request, Response } from 'express';
import { StoreUnavailableError, isoSeconds, ownerRequest } from '@sks/keystore';
import type { DbContext } from './context.js';
import { HttpError, htmlQuote, page, readBody, sendSks } from './http-util.js';

function requestText(req: Request, body: Buffer): string {
  const type = String(req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type === 'application/x-www-form-urlencoded') {
    const v = new URLSearchParams(body.toString('utf8')).get('request');
    if (v === null) throw new HttpError(400, 'the form has no request field (send request=<the signed request>)');
    return v;
  }
  return body.toString('utf8');
}

export async function handleOwnerDelete(ctx: DbContext, req: Request, res: Response): Promise<void> {
  const text = requestText(req, await readBody(req, ctx.settings.max_body_bytes));
  const writer = ctx.writer();
  const now = Math.floor(Date.now() / 1000);
  const check = await ownerRequest.checkDeletionRequest(text, (fpr) => writer.getByFingerprint(fpr)?.data, now,
    ctx.settings.owner_delete_max_validity_s);
  if (!check.ok) {
    if (check.status === 404 && check.fingerprint && writer.isBlocked(check.fingerprint)) {
      throw new HttpError(404, 'this key has been removed already');
    }
    throw new HttpError(check.status, check.problem);
  }
  const fpr = check.request.fingerprint;
  const issuedIso = isoSeconds(check.request.issued);
  let outcome: 'removed' | 'replayed';
  try {
    outcome = writer.deleteByOwner({
      fingerprint: fpr, issued: check.request.issued, expires: check.request.expires, signer: check.signer, request: text.trim(),
    }, `owner asked for removal (signed request issued ${issuedIso})`);
  } catch (e) {
    if (e instanceof StoreUnavailableError) throw new HttpError(503, `the key store is busy or unavailable (${e.message}); try again later`);
    throw e;
  }
  ctx.forgetDataVersion();
  if (outcome === 'replayed') throw new HttpError(409, 'this request was carried out already; sign a new one to ask again');
  ctx.logger.info('key removed at its owner\'s request', { fingerprint: fpr, signer: check.signer, issued: issuedIso });
  const json = /application\/json/.test(String(req.headers.accept ?? ''));
  if (json) {
    sendSks(res, { type: 'application/json; charset=UTF-8', body: JSON.stringify({ removed: fpr, signer: check.signer }) });
    return;
  }
  sendSks(res, {
    type: 'text/html; charset=UTF-8',
    body: page('Key removed', `<p>The key ${htmlQuote(fpr)} was removed at its owner's request and will be refused from now on.</p>`),
  });
}
