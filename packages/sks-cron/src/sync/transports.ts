// How one batch of keys reaches one target: HKP POST /pks/add (hkp://, hkps://), VKS POST /vks/v1/upload
// (vks://, one key a request), or a mail in SKS's mailsync format (mailto:, through SMTP or sendmail_cmd).
// Each send resolves with what the target said: `ok` (it took the keys), `refused` (it answered that it will not
// take them: 4xx other than 408/429, so sending again would not help) or throws (down, timeout, 5xx: try later).
import { spawn } from 'node:child_process';
import nodemailer from 'nodemailer';
import { SYNC_SENDER_HEADER, type Settings, type SyncTarget } from '@sks/keystore';

export type SendResult = { status: 'ok' } | { status: 'refused'; detail: string };

export class TargetDown extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TargetDown';
  }
}

export interface SendContext {
  settings: Settings;
  /** This server's name for X-Keyserver-Sent. */
  sender: string;
}

function answerOf(target: string, status: number, body: string): SendResult {
  if (status >= 200 && status < 300) return { status: 'ok' };
  const detail = `${status} ${body.replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ').trim().slice(0, 200)}`;
  if (status >= 400 && status < 500 && status !== 408 && status !== 429) return { status: 'refused', detail };
  throw new TargetDown(`${target} answered ${detail}`);
}

async function post(target: SyncTarget, url: string, ctx: SendContext, type: string, body: string): Promise<SendResult> {
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': type, [SYNC_SENDER_HEADER]: ctx.sender, 'User-Agent': 'sks-ts push sync' },
      body,
      signal: AbortSignal.timeout(ctx.settings.sync_timeout_s * 1000),
    });
  } catch (e) {
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    throw new TargetDown(`${target.url}: ${cause?.code ?? cause?.message ?? (e as Error).message}`);
  }
  return answerOf(target.url, res.status, await res.text().catch(() => ''));
}

function httpBase(t: SyncTarget): string {
  const scheme = t.kind === 'hkp' ? 'http' : 'https';
  const host = t.host!.includes(':') ? `[${t.host}]` : t.host!;
  return `${scheme}://${host}:${t.port}`;
}

/** POST /pks/add with every key of the batch in one armored block (SKS, Hockeypuck and we take several). */
export function sendHkp(t: SyncTarget, armored: string, ctx: SendContext): Promise<SendResult> {
  return post(t, `${httpBase(t)}/pks/add`, ctx, 'application/x-www-form-urlencoded',
    `keytext=${encodeURIComponent(armored)}`);
}

/** POST /vks/v1/upload as hagrid takes it: one key per request. */
export function sendVks(t: SyncTarget, armored: string, ctx: SendContext): Promise<SendResult> {
  return post(t, `${httpBase(t)}/vks/v1/upload`, ctx, 'application/json', JSON.stringify({ keytext: armored }));
}

/** The mail SKS's mailsync sends: `Subject: incremental`, X-Keyserver-Sent, the armored keys as the text. */
async function composeMail(to: string, armored: string, ctx: SendContext): Promise<Buffer> {
  const composer = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
  const info = await composer.sendMail({
    from: ctx.settings.sync_from, to, subject: 'incremental', text: armored,
    headers: { [SYNC_SENDER_HEADER]: ctx.settings.sync_from, Precedence: 'list' },
  });
  return info.message as Buffer;
}

/** Runs sendmail_cmd (through the shell, as SKS does) with the message on its standard input. */
function pipeToSendmail(cmd: string, message: Buffer, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', cmd], { stdio: ['pipe', 'ignore', 'pipe'] });
    let err = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-500)));
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new TargetDown(`sendmail_cmd "${cmd}": ${e.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new TargetDown(`sendmail_cmd "${cmd}" exited with ${signal ?? code}: ${err.trim()}`));
    });
    child.stdin.on('error', () => undefined); // a command that exits early: its exit status tells
    child.stdin.end(message);
  });
}

export async function sendMail(t: SyncTarget, armored: string, ctx: SendContext): Promise<SendResult> {
  const s = ctx.settings;
  if (!s.sync_from) throw new TargetDown(`${t.url}: set sync_from (or SKS's from_addr) in sksconf to send sync mail`);
  if (s.sendmail_cmd) {
    await pipeToSendmail(s.sendmail_cmd, await composeMail(t.address!, armored, ctx), s.sync_timeout_s * 1000);
    return { status: 'ok' };
  }
  const smtp = nodemailer.createTransport({
    host: s.smtp_host, port: s.smtp_port, secure: false,
    connectionTimeout: s.sync_timeout_s * 1000, greetingTimeout: s.sync_timeout_s * 1000, socketTimeout: s.sync_timeout_s * 1000,
  });
  try {
    await smtp.sendMail({
      envelope: { from: s.sync_from, to: t.address! },
      raw: await composeMail(t.address!, armored, ctx),
    });
    return { status: 'ok' };
  } catch (e) {
    const code = (e as { responseCode?: number }).responseCode;
    // 5xx from the mail server: it will not take this mail (bad recipient, too large); anything else is transient.
    if (code !== undefined && code >= 500) return { status: 'refused', detail: `${code} ${(e as Error).message}` };
    throw new TargetDown(`${t.url} via ${s.smtp_host}:${s.smtp_port}: ${(e as Error).message}`);
  } finally {
    smtp.close();
  }
}

export function send(t: SyncTarget, armored: string, ctx: SendContext): Promise<SendResult> {
  switch (t.kind) {
    case 'hkp':
    case 'hkps':
      return sendHkp(t, armored, ctx);
    case 'vks':
      return sendVks(t, armored, ctx);
    case 'mailto':
      return sendMail(t, armored, ctx);
  }
}
