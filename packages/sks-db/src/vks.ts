// The VKS API of keys.openpgp.org (hagrid), for clients that speak it:
//   GET /vks/v1/by-fingerprint/<FPR>  /vks/v1/by-keyid/<KEYID>  /vks/v1/by-email/<address>
//   POST /vks/v1/upload  {"keytext": "<armored key>"}  (Hockeypuck's vks:// push targets send keys this way)
// Answers are ASCII-armored keys (application/pgp-keys); 404 when nothing matches, 400 for a malformed query.
// Unlike keys.openpgp.org we serve keys as stored (with third-party certifications), as SKS does, and an upload is
// published at once (no address verification: an HKP keyserver publishes what /pks/add gets, too).
import { Router, type Request, type Response } from 'express';
import type { StoredKey } from '@sks/keystore';
import type { DbContext } from './context.js';
import { HttpError, readBody, sendError } from './http-util.js';
import { armoredKeys } from './lookup.js';
import { addKeyMaterial, uploadSource } from './add.js';

/** POST /vks/v1/upload: hagrid's request and answer shapes; errors as {"error": "..."}, as hagrid sends them. */
async function vksUpload(ctx: DbContext, req: Request, res: Response): Promise<void> {
  const fail = (status: number, error: string): void => {
    res.status(status).type('application/json').end(JSON.stringify({ error }));
  };
  try {
    const body = await readBody(req, ctx.settings.max_body_bytes);
    let keytext: unknown;
    try {
      keytext = (JSON.parse(body.toString('utf8')) as { keytext?: unknown }).keytext;
    } catch {
      return fail(400, 'the body is not JSON; send {"keytext": "<ASCII-armored key>"}');
    }
    if (typeof keytext !== 'string') return fail(400, 'the JSON has no "keytext" string');
    const outcomes = addKeyMaterial(ctx, keytext, uploadSource(req));
    const taken = outcomes.filter((o) => o.status !== 'rejected');
    if (taken.length === 0) {
      const o = outcomes[0];
      return fail(422, `the key was not accepted: ${o?.reason ?? 'refused'}${o?.detail ? ` (${o.detail})` : ''}`);
    }
    ctx.logger.info(uploadSource(req) === 'sync' ? 'keys pushed to us' : 'keys uploaded', { via: 'vks', keys: taken.length });
    res.status(200).type('application/json').end(JSON.stringify({ key_fpr: taken[0]!.fingerprint, status: {}, token: '' }));
  } catch (e) {
    if (e instanceof HttpError) return fail(e.status, e.message);
    throw e;
  }
}

export function vksRouter(ctx: DbContext): Router {
  const r = Router();
  const reply = (res: Response, keys: StoredKey[]) => {
    res.set('Access-Control-Allow-Origin', '*');
    if (keys.length === 0) return sendError(res, 404, 'No key found for fingerprint, key ID or address', true);
    // One key comes as a file named by its fingerprint (as keys.openpgp.org names it): the web pages' download link.
    if (keys.length === 1) res.set('Content-Disposition', `attachment; filename=${keys[0]!.fingerprint}.asc`);
    res.status(200).type('application/pgp-keys').end(armoredKeys(ctx, keys));
  };
  r.get('/by-fingerprint/:fpr', (req, res) => {
    const fpr = req.params.fpr!.toUpperCase();
    if (!/^([0-9A-F]{40}|[0-9A-F]{64})$/.test(fpr)) return sendError(res, 400, 'a fingerprint is 40 or 64 hex digits, without 0x', true);
    const k = ctx.store.getByFingerprint(fpr);
    reply(res, k ? [k] : []);
  });
  r.get('/by-keyid/:keyid', (req, res) => {
    const id = req.params.keyid!.toUpperCase();
    if (!/^([0-9A-F]{16}|[0-9A-F]{40}|[0-9A-F]{64})$/.test(id)) return sendError(res, 400, 'a key ID is 16 hex digits, without 0x', true);
    reply(res, ctx.store.findByKeyId(id, ctx.settings.max_get_results));
  });
  r.get('/by-email/:email', (req, res) => {
    const addr = req.params.email!;
    if (!/^[^@\s<>]+@[^@\s<>]+$/.test(addr)) return sendError(res, 400, 'not an e-mail address', true);
    const { keys } = ctx.store.searchText(addr, ctx.settings.max_get_results, false);
    const lower = addr.toLowerCase();
    // Only keys with a user ID of exactly this address (a word search may also find lookalikes).
    reply(res, keys.filter((k) => k.info.userIds.some((u) => u.kind === 'uid' && u.text.toLowerCase().includes(`<${lower}>`) || u.text.toLowerCase() === lower)));
  });
  r.post('/upload', (req, res, next) => void vksUpload(ctx, req, res).catch(next));
  r.use((_req, res) => sendError(res, 404, 'unknown VKS path', true));
  return r;
}
