// A recon connection: reads length-prefixed frames off a TCP socket with the limits that keep a bad peer from
// hurting us (largest message, longest silence), and counts the bytes both ways for the session summary.
import type { Socket } from 'node:net';
import { decodeBody, encodeMessage, encodeString, type ReconMessage } from './messages.js';

export type SessionErrorKind = 'closed' | 'timeout' | 'oversized' | 'protocol' | 'config' | 'peer-error';

/** Why a session ended early; `kind` lets the log and the tests tell the cases apart. */
export class SessionError extends Error {
  constructor(readonly kind: SessionErrorKind, message: string) {
    super(message);
    this.name = 'SessionError';
  }
}

export interface ChannelLimits {
  maxMessageBytes: number;
  /** Time the peer has to send one whole message (plus as much again per MiB of a large message); a read that takes
   * longer fails with kind 'timeout', however many bytes trickled in meanwhile. */
  readTimeoutMs: number;
}

export class Channel {
  bytesIn = 0;
  bytesOut = 0;
  /** Messages by type, both ways (for the session summary and the tests). */
  readonly sent: Record<string, number> = {};
  readonly received: Record<string, number> = {};
  private chunks: Buffer[] = [];
  private buffered = 0;
  private ended?: SessionError;
  private wake?: () => void;

  constructor(readonly socket: Socket, public limits: ChannelLimits) {
    socket.on('data', (c: Buffer) => {
      this.bytesIn += c.length;
      this.chunks.push(c);
      this.buffered += c.length;
      this.wake?.();
    });
    socket.on('end', () => this.fail(new SessionError('closed', 'peer closed the connection')));
    socket.on('close', () => this.fail(new SessionError('closed', 'connection closed')));
    socket.on('error', (e) => this.fail(new SessionError('closed', `connection error: ${e.message}`)));
  }

  private fail(e: SessionError): void {
    this.ended ??= e;
    this.wake?.();
  }

  send(buf: Buffer): void {
    if (this.socket.destroyed) throw this.ended ?? new SessionError('closed', 'connection closed');
    this.bytesOut += buf.length;
    this.socket.write(buf);
  }

  sendMessage(msg: ReconMessage): void {
    this.sent[msg.type] = (this.sent[msg.type] ?? 0) + 1;
    this.send(encodeMessage(msg));
  }

  sendString(s: string): void {
    this.send(encodeString(s));
  }

  private peek(n: number): Buffer {
    if (this.chunks[0]!.length < n) {
      this.chunks = [Buffer.concat(this.chunks)];
    }
    return this.chunks[0]!.subarray(0, n);
  }

  private take(n: number): Buffer {
    const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    const out = all.subarray(0, n);
    const rest = all.subarray(n);
    this.chunks = rest.length ? [rest] : [];
    this.buffered -= n;
    return out;
  }

  /** The next frame's bytes (without its length). */
  async readFrame(): Promise<Buffer> {
    const start = Date.now();
    let deadline = start + this.limits.readTimeoutMs;
    for (;;) {
      if (this.buffered >= 4) {
        const len = this.peek(4).readUInt32BE(0);
        if (len > this.limits.maxMessageBytes) {
          throw new SessionError('oversized',
            `peer announced a ${len}-byte message; the limit is ${this.limits.maxMessageBytes} (recon_max_message_bytes)`);
        }
        if (this.buffered >= 4 + len) {
          this.take(4);
          return Buffer.from(this.take(len));
        }
        deadline = start + this.limits.readTimeoutMs * (1 + Math.floor(len / (1 << 20)));
      }
      if (this.ended) throw this.ended;
      await this.waitForData(deadline - Date.now());
    }
  }

  async readMessage(): Promise<ReconMessage> {
    const body = await this.readFrame();
    try {
      const msg = decodeBody(body);
      this.received[msg.type] = (this.received[msg.type] ?? 0) + 1;
      return msg;
    } catch (e) {
      throw new SessionError('protocol', `malformed message from peer: ${(e as Error).message}`);
    }
  }

  /** A bare string (the config check), at most 64 KiB. */
  async readString(): Promise<string> {
    const saved = this.limits.maxMessageBytes;
    this.limits = { ...this.limits, maxMessageBytes: Math.min(saved, 65536) };
    try {
      return (await this.readFrame()).toString('latin1');
    } finally {
      this.limits = { ...this.limits, maxMessageBytes: saved };
    }
  }

  private waitForData(ms: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.wake = undefined;
        reject(new SessionError('timeout',
          `peer did not send a whole message within ${Math.round(this.limits.readTimeoutMs / 1000)} s (recon_read_timeout_s)`));
      }, Math.max(0, ms));
      this.wake = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
    });
  }

  close(): void {
    if (!this.socket.destroyed) this.socket.end();
    // Do not wait for a slow peer to acknowledge: destroy after a moment.
    setTimeout(() => this.socket.destroy(), 1000).unref();
  }

  destroy(): void {
    this.socket.destroy();
  }
}
