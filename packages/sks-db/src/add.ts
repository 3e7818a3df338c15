// POST /pks/add: clients upload keys (HKP draft §4; gpg --send-keys posts `keytext=<armored key>` as a form).
// Also accepted: the armored or binary key as the body itself (application/pgp-keys, application/octet-stream,
// text/plain). Every key goes through the store's upsert (policy, blocklist, merge, digest) in one transaction, so a
// refused or broken upload changes nothing stored.
import type { Request, Response } from 'express';
import {
  KeyInputError, SYNC_SENDER_HEADER, StoreUnavailableError, countPackets, readPackets, toBinary, type PolicyCut, type WriteOutcome,
} from '@sks/keystore';
import { recordWrites } from '@sks/service';
import type { DbContext } from './context.js';
import { HttpError, htmlQuote, page, readBody, sendSks } from './http-util.js';
import { UploadSlots, clientAddress } from './client-limits.js';

/** How often the same cause of failed uploads is logged again while it lasts. */
const UNAVAILABLE_LOG_INTERVAL_MS = 60_000;

/** The operator learns once per cause (and once a minute while it lasts) that uploads are refused because the store
 * cannot write, and once that they work again. A failure other than a busy lock also drops the writer connection,
 * so the next upload opens a new one: a store made writable again works without a restart. */
const storeHealth = {
  logged: new Map<string, number>(),
  failing: false,
  failed(ctx: DbContext, e: StoreUnavailableError): void {
    const cause = e.code ?? 'unknown';
    const now = Date.now();
    if (now - (this.logged.get(cause) ?? 0) >= UNAVAILABLE_LOG_INTERVAL_MS) {
      this.logged.set(cause, now);
      ctx.logger.error('uploads refused with 503: the key store cannot write', { cause, error: e.message });
    }
    this.failing = true;
    if (!/^SQLITE_(BUSY|LOCKED)/.test(cause)) ctx.resetWriter();
  },
  ok(ctx: DbContext): void {
    if (!this.failing) return;
    this.failing = false;
    this.logged.clear();
    ctx.logger.warn('the key store accepts uploads again');
  },
};

/** Extracts the key material of an /pks/add body by its content type. */
export function keyMaterial(contentType: string | undefined, body: Buffer): Buffer | string {
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (type === 'application/x-www-form-urlencoded' || type === '') {
    const text = body.toString('latin1');
    if (type === '' && /-----BEGIN PGP/.test(text) && !/^keytext=/.test(text)) return text;
    const form = new URLSearchParams(text);
    const keytext = form.get('keytext');
    if (keytext === null) throw new HttpError(400, 'the form has no keytext field (send keytext=<ASCII-armored key>)');
    return keytext;
  }
  if (type === 'application/pgp-keys' || type === 'application/octet-stream' || type === 'text/plain') {
    // An armored upload is text; a binary one starts with a packet header (bit 7 set).
    return body.length > 0 && (body[0]! & 0x80) !== 0 ? body : body.toString('utf8');
  }
  if (type === 'multipart/form-data') {
    throw new HttpError(415, 'multipart uploads are not supported; send keytext=... as application/x-www-form-urlencoded');
  }
  throw new HttpError(415, `content type ${type} is not accepted; use application/x-www-form-urlencoded or application/pgp-keys`);
}

/** A request from another keyserver's push sync (CKS/Hockeypuck PKS style) names the sender in X-Keyserver-Sent;
 * what it brings is stored as `sync`, so our own push sync does not send it on (no loops between pushing servers). */
export function uploadSource(req: Request): 'add' | 'sync' {
  return req.headers[SYNC_SENDER_HEADER.toLowerCase()] !== undefined ? 'sync' : 'add';
}

/** Stores the uploaded keys and reports what happened to each. */
export function addKeyMaterial(ctx: DbContext, material: Buffer | string, source: 'add' | 'sync' = 'add'): WriteOutcome[] {
  if (typeof material === 'string') {
    if (material.trim() === '') throw new HttpError(400, 'the upload is empty');
    if (!/-----BEGIN PGP PUBLIC KEY BLOCK-----/.test(material)) {
      if (/-----BEGIN PGP PRIVATE KEY BLOCK-----/.test(material)) {
        throw new HttpError(422, 'this is a secret key; only public keys can be published');
      }
      throw new HttpError(400, 'no ASCII-armored public key block (-----BEGIN PGP PUBLIC KEY BLOCK-----) found');
    }
  }
  let binary: Buffer;
  try {
    binary = toBinary(material);
  } catch (e) {
    throw new HttpError(400, `the key material could not be read: ${(e as Error).message}`);
  }
  // Counted by headers before anything is parsed: millions of tiny packets would cost ~100x their size in objects.
  const max = ctx.settings.max_upload_packets;
  if (countPackets(binary, max) > max) {
    throw new HttpError(413, `the upload holds more than ${max} OpenPGP packets (max_upload_packets); nothing was stored`);
  }
  let outcomes: WriteOutcome[];
  try {
    outcomes = ctx.writer().upsertMaterial(binary, source);
    ctx.forgetDataVersion();
    recordWrites(source, outcomes);
    storeHealth.ok(ctx);
  } catch (err) {
    const e = err as Error;
    if (e instanceof HttpError) throw e;
    // Armor/CRC/packet errors from the key store: nothing was written (one transaction).
    if (e instanceof KeyInputError) throw new HttpError(400, `the key material could not be read: ${e.message}`);
    // The store could not work (locked past the busy timeout, disk full...): the upload was fine, try again.
    if (e instanceof StoreUnavailableError) {
      storeHealth.failed(ctx, e);
      throw new HttpError(503, `the key store is busy or unavailable (${e.message}); nothing was changed, try again later`);
    }
    // Anything else is ours: the upload was fine, the server was not.
    throw new HttpError(500, `the key could not be stored (${e.message}); nothing was changed, try again later`);
  }
  if (outcomes.length === 0) throw new HttpError(400, 'the upload contains no OpenPGP public key');
  return outcomes;
}

/** What the server holds of an accepted key and what its policy removed from this upload, so the uploader learns
 * that a flood was cut (the same cuts are counted in sks_policy_cut_packets_total). */
function storedAs(ctx: DbContext, o: WriteOutcome): { kept?: { packets: number; bytes: number }; cuts: PolicyCut[] } {
  if (o.status === 'rejected' || !o.fingerprint) return { cuts: [] };
  const stored = ctx.writer().getByFingerprint(o.fingerprint);
  return {
    kept: stored ? { packets: readPackets(stored.data).length, bytes: stored.data.length } : undefined,
    cuts: o.cuts ?? [],
  };
}

function summary(outcomes: WriteOutcome[]): Record<string, number> {
  const s: Record<string, number> = { inserted: 0, updated: 0, unchanged: 0, rejected: 0 };
  for (const o of outcomes) s[o.status] = (s[o.status] ?? 0) + 1;
  return s;
}

const slotsOf = new WeakMap<DbContext, UploadSlots>();

export async function handleAdd(ctx: DbContext, req: Request, res: Response): Promise<void> {
  let slots = slotsOf.get(ctx);
  if (!slots) slotsOf.set(ctx, (slots = new UploadSlots(ctx.settings.max_uploads_per_client)));
  const release = slots.take(clientAddress(req, ctx.settings.trusted_proxies));
  if (!release) {
    res.setHeader('Retry-After', '10');
    throw new HttpError(429, `this address already has ${ctx.settings.max_uploads_per_client} uploads in progress ` +
      '(max_uploads_per_client); send the next one when one of them is answered');
  }
  res.once('close', release);
  try {
    await storeUpload(ctx, req, res);
  } finally {
    release();
  }
}

async function storeUpload(ctx: DbContext, req: Request, res: Response): Promise<void> {
  const body = await readBody(req, ctx.settings.max_body_bytes);
  const source = uploadSource(req);
  const outcomes = addKeyMaterial(ctx, keyMaterial(req.headers['content-type'], body), source);
  const s = summary(outcomes);
  const allRejected = s.rejected === outcomes.length;
  const status = allRejected ? 422 : 200;
  ctx.logger.info(source === 'sync' ? 'keys pushed to us' : 'keys uploaded', s);
  const wantsJson = /application\/json/.test(String(req.headers.accept ?? '')) || /(^|,)mr(,|$)/.test(String(req.query.options ?? ''));
  if (wantsJson) {
    sendSks(res, {
      status,
      type: 'application/json; charset=UTF-8',
      body: JSON.stringify({ ...s, keys: outcomes.map((o) => ({ status: o.status, fingerprint: o.fingerprint, reason: o.reason, detail: o.detail, ...storedAs(ctx, o) })) }),
      count: outcomes.length,
    });
    return;
  }
  const items = outcomes
    .map((o) => {
      const fp = o.fingerprint ? htmlQuote(o.fingerprint) : '(unknown key)';
      if (o.status === 'rejected') return `<li>${fp}: rejected (${htmlQuote(o.reason ?? 'refused')}${o.detail ? ': ' + htmlQuote(o.detail) : ''})</li>`;
      const { kept, cuts } = storedAs(ctx, o);
      const keptText = kept ? `; the server keeps ${kept.packets} packets (${kept.bytes} bytes)` : '';
      const cutText = cuts.length === 0 ? '' : `<br />\nremoved by this server's policy: ${cuts
        .map((c) => `${c.packets} packet(s), ${htmlQuote(c.rule)} (${htmlQuote(c.detail)})`).join('; ')}`;
      const view = o.fingerprint ? ` <a href="/pks/lookup?op=get&amp;search=0x${fp}">View the key</a>` : '';
      return `<li>${fp}: ${o.status}${keptText}${cutText}${view}</li>`;
    })
    .join('\n');
  const stored = s.inserted! + s.updated! + s.unchanged!;
  const head = allRejected
    ? 'Add failed: no key was accepted.'
    : `Key block added to key server database.<br />${stored} key(s) added successfully.`;
  const text =
    `<p>${head}</p>\n<p>inserted: ${s.inserted}, updated: ${s.updated}, unchanged: ${s.unchanged}, rejected: ${s.rejected}</p>\n<ul>\n${items}\n</ul>`;
  sendSks(res, { status, type: 'text/html; charset=UTF-8', body: page(allRejected ? 'Add failed' : 'Keys added', text), count: outcomes.length });
}
