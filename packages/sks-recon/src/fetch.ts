// Fetching the keys a session found missing: POST /pks/hashquery to the peer's announced HKP port (SPEC §5; SKS
// reconComm.ml get_keystrings_via_http). Request body: int count, then count strings (int length + 16-byte
// digest). Response: int count, then count strings, each one key as binary packets; SKS appends "\r\n" after it.
import { request } from 'node:http';
import { SOFTWARE, decodeHashqueryResponse, encodeHashqueryRequest } from '@sks/hkp';

/** What our hashquery requests say they are (peers log it, as they log SKS's and Hockeypuck's). */
export const USER_AGENT = `${SOFTWARE.replace(' ', '/')} (recon)`;

export interface FetchOptions {
  host: string;
  port: number;
  /** Source address of the connection (recon_address[0]), as SKS binds its outbound sockets. */
  localAddress?: string;
  timeoutMs: number;
  /** Largest response accepted. */
  maxBytes: number;
}

/** One hashquery request; resolves with the keys the peer sent (it skips digests it does not have). */
export function hashquery(digests: Buffer[], o: FetchOptions): Promise<Buffer[]> {
  const body = encodeHashqueryRequest(digests);
  return new Promise<Buffer[]>((resolve, reject) => {
    const req = request({
      host: o.host,
      port: o.port,
      method: 'POST',
      path: '/pks/hashquery',
      localAddress: o.localAddress,
      headers: {
        'content-type': 'application/octet-stream', 'content-length': body.length, connection: 'close', 'user-agent': USER_AGENT,
      },
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
          resolve(decodeHashqueryResponse(Buffer.concat(chunks), digests.length));
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
