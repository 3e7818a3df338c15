// Fetching the keys a session found missing: POST /pks/hashquery to the peer's announced HKP port (SPEC §5; SKS
// reconComm.ml get_keystrings_via_http). Request body: int count, then count strings (int length + 16-byte
// digest). Response: int count, then count strings, each one key as binary packets; SKS appends "\r\n" after it.
import { request } from 'node:http';

export interface FetchOptions {
  host: string;
  port: number;
  /** Source address of the connection (recon_address[0]), as SKS binds its outbound sockets. */
  localAddress?: string;
  timeoutMs: number;
  /** Largest response accepted. */
  maxBytes: number;
}

export function encodeHashquery(digests: Buffer[]): Buffer {
  const out = Buffer.alloc(4 + digests.length * 20);
  out.writeUInt32BE(digests.length, 0);
  digests.forEach((d, i) => {
    out.writeUInt32BE(16, 4 + i * 20);
    d.copy(out, 8 + i * 20);
  });
  return out;
}

/** Decodes a hashquery response; trailing bytes after the last key (SKS's "\r\n") are ignored. */
export function decodeHashqueryKeys(body: Buffer): Buffer[] {
  if (body.length < 4) throw new Error(`hashquery answer of ${body.length} bytes has no key count`);
  const count = body.readUInt32BE(0);
  const keys: Buffer[] = [];
  let off = 4;
  for (let i = 0; i < count; i++) {
    if (off + 4 > body.length) throw new Error(`hashquery answer ends inside key ${i + 1} of ${count}`);
    const len = body.readUInt32BE(off);
    off += 4;
    if (off + len > body.length) throw new Error(`hashquery answer ends inside key ${i + 1} of ${count}`);
    keys.push(body.subarray(off, off + len));
    off += len;
  }
  return keys;
}

/** One hashquery request; resolves with the keys the peer sent (it skips digests it does not have). */
export function hashquery(digests: Buffer[], o: FetchOptions): Promise<Buffer[]> {
  const body = encodeHashquery(digests);
  return new Promise<Buffer[]>((resolve, reject) => {
    const req = request({
      host: o.host,
      port: o.port,
      method: 'POST',
      path: '/pks/hashquery',
      localAddress: o.localAddress,
      headers: { 'content-type': 'application/octet-stream', 'content-length': body.length, connection: 'close' },
      timeout: o.timeoutMs,
    }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > o.maxBytes) {
          req.destroy(new Error(`hashquery answer exceeds ${o.maxBytes} bytes (recon_max_fetch_bytes)`));
          return;
        }
        chunks.push(c);
      });
      res.on('end', () => {
        if ((res.statusCode ?? 0) < 200 || (res.statusCode ?? 0) > 299) {
          reject(new Error(`hashquery answered HTTP ${res.statusCode}: ${Buffer.concat(chunks).toString('utf8', 0, 200)}`));
          return;
        }
        try {
          resolve(decodeHashqueryKeys(Buffer.concat(chunks)));
        } catch (e) {
          reject(e as Error);
        }
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`hashquery timed out after ${o.timeoutMs} ms (missing_keys_timeout_s)`)));
    req.on('error', reject);
    req.end(body);
  });
}
