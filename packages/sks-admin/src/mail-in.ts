// `sks-admin mail-in`: one sync mail on standard input, as an MTA's pipe delivers it (`.forward` or an alias
// `"|sks-admin mail-in --basedir ..."`), like CKS's cks_mail_sync and SKS's own mail handling. Accepted: mail from
// an address in mail_in_allowed whose subject is `ADD` (PKS) or `incremental` (SKS mailsync), carrying armored
// keys in its text or as application/pgp-keys attachments. The keys are merged as `sync`: stored and reconciled,
// never pushed on by our push sync (no loops). Mail parsing (MIME parts, transfer encodings) is mailparser's.
//
// Exit status, as an MTA reads it: 0 delivered or deliberately dropped (logged: a bounce to a forged sender would
// be backscatter), 65 (EX_DATAERR) the mail holds no readable key, 75 (EX_TEMPFAIL) the store could not write: the
// MTA keeps the mail and tries again.
import { simpleParser, type AddressObject } from 'mailparser';
import { ArmorError, KeyInputError, SYNC_SENDER_HEADER, StoreUnavailableError, toBinary, type KeyWriter, type Logger, type Settings } from '@sks/keystore';

export const EX_DATAERR = 65;
export const EX_TEMPFAIL = 75;

const KEY_BLOCK = /-----BEGIN PGP PUBLIC KEY BLOCK-----[\s\S]*?-----END PGP PUBLIC KEY BLOCK-----/g;

export interface MailInResult {
  status: 'stored' | 'ignored' | 'no-keys' | 'store-unavailable';
  exitCode: number;
  detail: string;
  counts?: Record<string, number>;
}

function firstAddress(a: AddressObject | AddressObject[] | undefined): string | undefined {
  const list = Array.isArray(a) ? a : a ? [a] : [];
  return list.flatMap((o) => o.value).map((v) => v.address?.toLowerCase()).find((x) => x);
}

/** The address of a Return-Path header (`<addr>`), as the MTA records the envelope sender at delivery. */
function envelopeSender(v: unknown): string | undefined {
  const text = typeof v === 'string' ? v : firstAddress(v as AddressObject | undefined);
  const m = /<?([^<>\s]+@[^<>\s]+)>?/.exec(text ?? '');
  return m?.[1]?.toLowerCase();
}

export async function mailIn(raw: Buffer, store: KeyWriter, settings: Settings, log: Logger): Promise<MailInResult> {
  const ignore = (detail: string): MailInResult => {
    log.warn('sync mail ignored', { detail });
    return { status: 'ignored', exitCode: 0, detail };
  };
  if (raw.length > settings.mail_in_max_bytes) return ignore(`the message is ${raw.length} bytes, over mail_in_max_bytes`);
  const mail = await simpleParser(raw, { skipHtmlToText: true, skipTextToHtml: true, skipTextLinks: true });
  // Hockeypuck's PKS mail has no From header (only Subject): then the envelope sender the MTA recorded counts.
  const from = firstAddress(mail.from) ?? envelopeSender(mail.headers.get('return-path'));
  const allowed = new Set(settings.mail_in_allowed.map((a) => a.toLowerCase()));
  if (!from || !allowed.has(from)) return ignore(`sender ${from ?? '(none)'} is not in mail_in_allowed`);
  const subject = (mail.subject ?? '').trim();
  if (!/^(add|incremental)$/i.test(subject)) return ignore(`subject "${subject.slice(0, 80)}" is neither ADD nor incremental`);
  const sentBy = String(mail.headers.get(SYNC_SENDER_HEADER.toLowerCase()) ?? '').toLowerCase();
  const self = (settings.sync_from || settings.from_addr).toLowerCase();
  if (self && sentBy.split(/[\s,]+/).includes(self)) return ignore('our own sync mail came back (X-Keyserver-Sent names us)');

  const texts = [mail.text ?? '', ...mail.attachments
    .filter((a) => /pgp-keys|text\/plain/i.test(a.contentType))
    .map((a) => a.content.toString('utf8'))];
  const blocks = texts.flatMap((t) => t.match(KEY_BLOCK) ?? []);
  if (blocks.length === 0) {
    log.warn('sync mail without a public key block', { from, subject });
    return { status: 'no-keys', exitCode: EX_DATAERR, detail: 'no -----BEGIN PGP PUBLIC KEY BLOCK----- in the mail' };
  }
  const counts: Record<string, number> = { inserted: 0, updated: 0, unchanged: 0, rejected: 0, unreadable: 0 };
  try {
    for (const block of blocks) {
      let binary: Buffer;
      try {
        binary = toBinary(block);
        for (const o of store.upsertMaterial(binary, 'sync')) counts[o.status] = (counts[o.status] ?? 0) + 1;
      } catch (e) {
        if (!(e instanceof KeyInputError) && !(e instanceof ArmorError)) throw e;
        counts.unreadable!++;
      }
    }
  } catch (e) {
    if (e instanceof StoreUnavailableError) {
      log.error('sync mail not stored: the key store cannot write; the MTA will try again', { from, error: e.message });
      return { status: 'store-unavailable', exitCode: EX_TEMPFAIL, detail: e.message };
    }
    throw e;
  }
  log.info('sync mail stored', { from, subject, ...counts });
  return { status: 'stored', exitCode: 0, detail: `from ${from}`, counts };
}
