// The most req/s any server could show on this machine under a given wrk load: a server that does no work at all
// (a cluster of as many workers as sks-db runs, each answering every request on its socket with one fixed reply,
// no parsing beyond the end of the header). wrk shares the machine's cores with the server under test, so on a
// small machine this ceiling, not the server, bounds a ratio such as "10x SKS": the lookup part prints it beside the
// targets it bounds (issue 17's mr index without caches).
import cluster from 'node:cluster';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { startChild } from './child-process.js';

const SELF = fileURLToPath(import.meta.url);

export interface CeilingServer {
  url: string;
  stop(): Promise<void>;
}

/** Starts the do-nothing server in a process of its own (as sks-db runs in the lookup part), answering `body` with
 * `contentType` on every request; resolves once every worker listens. */
export async function startCeilingServer(port: number, workers: number, body: Buffer, contentType: string): Promise<CeilingServer> {
  const child = await startChild(SELF, { port, workers, body: body.toString('base64'), contentType }, 'the ceiling server');
  return { url: `http://127.0.0.1:${port}`, stop: child.stop };
}

interface ChildOptions {
  port: number;
  workers: number;
  body: string;
  contentType: string;
}

if (process.argv[1] === SELF && process.send) {
  const opts = JSON.parse(process.argv[2]!) as ChildOptions;
  if (cluster.isPrimary) {
    let listening = 0;
    for (let i = 0; i < opts.workers; i++) {
      cluster.fork().on('listening', () => {
        if (++listening === opts.workers) process.send!({ ready: true });
      });
    }
    const stop = () => {
      for (const w of Object.values(cluster.workers ?? {})) w?.kill();
      process.exit(0);
    };
    process.once('SIGTERM', stop);
    process.once('disconnect', stop);
  } else {
    const body = Buffer.from(opts.body, 'base64');
    const reply = Buffer.concat([
      Buffer.from(`HTTP/1.1 200 OK\r\nContent-Type: ${opts.contentType}\r\nContent-Length: ${body.length}\r\n\r\n`),
      body,
    ]);
    net
      .createServer((socket) => {
        socket.on('error', () => {});
        // one reply per header end; the last three bytes are kept in case a header's end is split across reads
        let tail = '';
        socket.on('data', (chunk: Buffer) => {
          const text = tail + chunk.toString('latin1');
          for (let at = text.indexOf('\r\n\r\n'); at >= 0; at = text.indexOf('\r\n\r\n', at + 4)) socket.write(reply);
          tail = text.slice(-3);
        });
      })
      .listen(opts.port, '127.0.0.1');
  }
}
