// The HKP service: an express app per worker, and a node cluster of db_workers processes sharing the port.
// Each worker opens its own read-only KeyStore on the shared SQLite (WAL) file, so one slow client or one slow
// query never holds up the others; /pks/add opens a writable store lazily (SQLite serialises the writers).
import cluster from 'node:cluster';
import http from 'node:http';
import querystring from 'node:querystring';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { once } from 'node:events';
import express, { type NextFunction, type Request, type Response } from 'express';
import { KeyStore, createLogger, loadBasedir, policyFromSettings, type Settings, type Logger } from '@sks/keystore';
import { resolveSettings, startMetricsServer, type MetricsServer } from '@sks/service';
import { httpMetricsMiddleware, recordHttpRequest, routeClass } from './http-metrics.js';
import type { DbContext, LookupAnswer } from './context.js';
import { BODY_END, HttpError, SERVER_HEADER, VIA_HEADER, closeAfterBody, errorReply, queryParam, replyHeaders, sendError, wantsMachineReadable, type SksReply } from './http-util.js';
import { COPY_BELOW_BYTES, SendTurn, createFront, replyHead, type Front, type FrontReply } from './hkp-front.js';
import { GNUPG_GET_REPLY, MR_INDEX_TYPE, armorKeyInto, armoredKeyLength, gnupgGetKey, gnupgIndex, handleLookup, lookupReply } from './lookup.js';
import { handleAdd } from './add.js';
import { handleHashquery } from './hashquery.js';
import { handleOwnerDelete } from './owner-delete.js';
import { startStats } from './stats.js';
import { wkdRouter } from './wkd.js';
import { vksRouter } from './vks.js';
import { webRouter } from './web-pages.js';
import { AnswerCache, LookupCache, ownBuffer } from './answer-cache.js';
import { ReplySlab } from './reply-slab.js';

type Handler = (ctx: DbContext, req: Request, res: Response) => Promise<void>;

function wrap(ctx: DbContext, h: Handler, machineReadable = false) {
  return (req: Request, res: Response, next: NextFunction) => {
    h(ctx, req, res).catch((err) => {
      if (err instanceof HttpError) {
        const mr = machineReadable || wantsMachineReadable(req.query);
        sendError(res, err.status, err.message, mr, err.title, queryParam(req.query, 'search'));
        // A refused body must not be left on a keep-alive connection: read it to its end (bounded), then close.
        if (err.status === 413 || err.status === 429) res.once('finish', () => closeAfterBody(req));
      } else next(err);
    });
  };
}

/** The request handler of one worker: GET/HEAD /pks/lookup, nearly all of a keyserver's traffic, is answered
 * directly (express's routing costs about as much as a cached lookup itself: measured 4 600 req/s for an empty
 * express route against 16 000 for plain node on this machine); everything else goes to the express app. */
export function createHandler(ctx: DbContext): http.RequestListener {
  const app = createApp(ctx);
  const metrics = httpMetricsMiddleware();
  return (req, res) => {
    const url = req.url ?? '';
    const isLookup = url.startsWith('/pks/lookup') && (url.length === 11 || url[11] === '?');
    if (!isLookup || (req.method !== 'GET' && req.method !== 'HEAD')) {
      app(req, res);
      return;
    }
    const query = querystring.parse(url.length > 12 ? url.slice(12) : '');
    metrics({ method: req.method, path: '/pks/lookup', query }, res, () => {});
    res.setHeader('Server', SERVER_HEADER);
    res.setHeader('Via', VIA_HEADER);
    handleLookup(ctx, query, res).catch((err) => {
      const mr = wantsMachineReadable(query);
      if (err instanceof HttpError) {
        sendError(res, err.status, err.message, mr, err.title, queryParam(query, 'search'));
        return;
      }
      ctx.logger.error('request failed', { path: '/pks/lookup', error: (err as Error).stack ?? String(err) });
      sendError(res, 500, 'internal error; see the server log', mr);
    });
  };
}

/** A reply as the front's cache of larger replies keeps it. */
interface ReadyReply extends FrontReply {
  /** Route class for the metrics. */
  route: string;
  /** Bytes held (for the cache's budget); negative: not to be kept. */
  length: number;
}

/** The header lines of a reply between Via and Content-Length (replyHeaders), as the front sends them. */
function headerLines(reply: Omit<SksReply, 'body'>): string {
  let headers = '';
  for (const [name, value] of replyHeaders(reply)) headers += `${name}: ${value}\r\n`;
  return headers;
}

function readyReply(reply: SksReply, route: string): ReadyReply {
  const body = Buffer.isBuffer(reply.body) ? reply.body : Buffer.from(reply.body, 'utf8');
  const status = reply.status ?? 200;
  const head = replyHead(status, `${headerLines(reply)}Content-Length: ${body.length + BODY_END.length}\r\n`);
  // Every reply has the same fields, so the front's hot path sees one object shape.
  return { status, head, body: [body, BODY_END], headroom: 0, route, length: 128 + head.length + body.length };
}

/** Free bytes before the head of a reply written in place (wireReply), where the front puts its Date and Connection
 * lines (about 90 bytes; see FrontReply.headroom). */
const FRONT_TAIL_ROOM = 128;

/** Where the front's replies written in place are cut from, one after another, in blocks of WIRE_BLOCK_BYTES, so a
 * reply is not an allocation of its own. A reply of a 3 KB key is over 4 KiB, past what node's own pool serves, so
 * each was an ArrayBuffer of its own: allocated, counted as external memory, collected and freed, per request
 * (issue 17). A reply is used once (sent, or copied into a cache). When the send turn reports that every reply
 * written since its last flush has left for the kernel, the block is written again from its start: its pages are
 * mapped and in the CPU's cache, where a new block's first touch costs a page fault and the kernel's zeroing of each
 * page. Otherwise some socket still holds a reply in it, and the block is left to the collector. */
class WireArena {
  /** undefined: the last block was left to the collector, and the next take starts a new one. */
  private block: Buffer | undefined;
  private used = 0;

  take(bytes: number): Buffer {
    if (bytes > WIRE_BLOCK_BYTES / 8) return Buffer.allocUnsafeSlow(bytes);
    if (this.block === undefined || this.used + bytes > WIRE_BLOCK_BYTES) {
      this.block = Buffer.allocUnsafeSlow(WIRE_BLOCK_BYTES);
      this.used = 0;
    }
    const b = this.block.subarray(this.used, this.used + bytes);
    this.used += (bytes + 7) & ~7; // the next reply starts on 8 bytes, as node's pool does
    return b;
  }

  /** The send turn's report (SendTurn): whether every reply taken since the last report has been sent. */
  flushed(allSent: boolean): void {
    if (allSent) this.used = 0;
    else this.block = undefined;
  }
}

/** The size of a WireArena block: some fifty replies of a 3 KB key; a reply over an eighth of it is allocated alone. */
const WIRE_BLOCK_BYTES = 256 * 1024;

/** A 200 reply as one buffer: room for the front's lines, `head` (the lines up to Content-Length, made once for a
 * kind of reply), Content-Length, the body (`bodyLength` bytes, which `writeBody` writes at the offset it is given)
 * and BODY_END. Built in place, the reply is neither encoded from header strings nor copied into the wire buffer:
 * on an uncached op=get of a 1M-key store those took about as long as the armor (issue 17). */
function wireReply(wire: WireArena, head: Buffer, bodyLength: number, route: string, writeBody: (out: Buffer, at: number) => void): ReadyReply {
  const contentLength = `Content-Length: ${bodyLength + BODY_END.length}\r\n`;
  const headLength = head.length + contentLength.length;
  const out = wire.take(FRONT_TAIL_ROOM + headLength + bodyLength + BODY_END.length);
  let at = FRONT_TAIL_ROOM + head.copy(out, FRONT_TAIL_ROOM);
  at += out.write(contentLength, at, 'latin1');
  writeBody(out, at);
  BODY_END.copy(out, at + bodyLength);
  return {
    status: 200, head: out.subarray(FRONT_TAIL_ROOM, at), body: [out.subarray(at)], headroom: FRONT_TAIL_ROOM,
    route, length: 128 + out.length - FRONT_TAIL_ROOM,
  };
}

/** Heads of mr index replies (wireReply) kept, by result count: an index of more keys than this gets its head made. */
const INDEX_HEADS_KEPT = 64;

/** Room left in a small reply for the Date and Connection headers the front adds: a kept small reply always goes out
 * through the front's copy into one wire buffer (COPY_BELOW_BYTES), never as views of the slab. */
const HEAD_TAIL_ALLOWANCE = 256;

/** The lookup front's answer to the query string of a GET/HEAD /pks/lookup (see hkp-front.ts): the same replies
 * handleLookup sends through node's http server, refusals included, counted in the metrics. Replies are kept
 * ready to send by query string for the current database version: small ones (nearly every key of the public
 * keydump, mr indexes, refusals) outside the heap in a ReplySlab, larger ones as buffers in a LookupCache; so a
 * repeated lookup costs a table probe and one copy. A miss computes the reply without the per-key and lookup
 * caches that node's http path uses (ctx.answers, ctx.lookups), so each reply is kept once. */
export function frontAnswer(ctx: DbContext, wire = new WireArena()): (qs: string, method: string) => FrontReply {
  const budget = ctx.settings.lookup_cache_bytes;
  const small = new ReplySlab(Math.floor((budget * 3) / 4));
  const large = new LookupCache<ReadyReply>(Math.floor((budget * 3) / 4), (r) => {
    r.head = ownBuffer(r.head);
    r.body = r.body.map((b) => (b === BODY_END ? b : ownBuffer(b)));
    r.headroom = 0; // copies without room; and a kept reply is sent again, so the front must not write into it
    return r;
  });
  const gnupgGetHead = replyHead(200, headerLines(GNUPG_GET_REPLY));
  const indexHeads = new Map<number, Buffer>();
  const indexHead = (count: number) => {
    let head = indexHeads.get(count);
    if (!head) {
      head = replyHead(200, headerLines({ type: MR_INDEX_TYPE, count }));
      if (count < INDEX_HEADS_KEPT) indexHeads.set(count, head);
    }
    return head;
  };
  const compute = (qs: string): ReadyReply => {
    let query: querystring.ParsedUrlQuery | undefined;
    try {
      // GnuPG's op=get by fingerprint and its key search, most of a public server's traffic, each in its own spelling:
      // answered without parsing the query, written in place
      const key = gnupgGetKey(ctx, qs);
      if (key) return wireReply(wire, gnupgGetHead, armoredKeyLength(ctx, key), 'lookup_get', (out, at) => armorKeyInto(ctx, key, out, at));
      const index = gnupgIndex(ctx, qs);
      if (index) {
        const { text } = index;
        return wireReply(wire, indexHead(index.count), Buffer.byteLength(text), 'lookup_index', (out, at) => out.write(text, at, 'utf8'));
      }
      query = querystring.parse(qs);
      return readyReply(lookupReply(ctx, query, false), routeClass('/pks/lookup', query));
    } catch (err) {
      query ??= querystring.parse(qs);
      const route = routeClass('/pks/lookup', query);
      const mr = wantsMachineReadable(query);
      if (err instanceof HttpError) return readyReply(errorReply(err.status, err.message, mr, err.title, queryParam(query, 'search')), route);
      ctx.logger.error('request failed', { path: '/pks/lookup', error: (err as Error).stack ?? String(err) });
      // a negative length marks it as not to be kept
      return { ...readyReply(errorReply(500, 'internal error; see the server log', mr), route), length: -1 };
    }
  };
  const cachedOrComputed = (qs: string): ReadyReply => {
    // ctx.dataVersion() looks at the database once per turn of the event loop (see openContext)
    const version = ctx.dataVersion();
    small.sync(version);
    large.sync(version);
    const hit = small.get(qs);
    if (hit !== undefined) return { status: hit.status, head: hit.head, body: [hit.body], headroom: 0, route: hit.route, length: 0 };
    // (nothing to find while it is empty, as it mostly is where keys are small: no hash, no count)
    const kept = large.size > 0 ? large.lookup(qs) : undefined;
    if (kept !== undefined) return kept;
    const reply = compute(qs);
    // Statistics change without a database change (refreshed on a schedule); refusals of the server's own are not
    // kept either.
    if (reply.length < 0 || reply.route === 'lookup_stats') return reply;
    if (reply.length + HEAD_TAIL_ALLOWANCE <= COPY_BELOW_BYTES) {
      small.offer(qs, reply.status, reply.route, reply.head, reply.body);
      return reply;
    }
    return large.offer(qs, reply);
  };
  // The request counters and latencies are only read by the metrics endpoint: without one, skip them.
  const counted = ctx.settings.metrics_port > 0;
  return (qs, method) => {
    const start = counted ? performance.now() : 0;
    // each lookup is logged when log_lookups is on, so none is answered from the caches
    const reply = ctx.settings.log_lookups ? compute(qs) : cachedOrComputed(qs);
    if (counted) recordHttpRequest(reply.route, method, reply.status, (performance.now() - start) / 1000);
    return reply;
  };
}

/** Our signed blocklist entries (sks-cron writes them when blocklist_signing_key is set), for the operators whose
 * servers trust our key (their blocklist_feeds). */
function sendSignedBlocklist(ctx: DbContext, res: Response): void {
  const file = ctx.settings.blocklist_signed_file;
  let text: string;
  try {
    text = readFileSync(isAbsolute(file) ? file : join(ctx.basedir, file), 'utf8');
  } catch {
    sendError(res, 404, 'this server publishes no signed blocklist (setting blocklist_signing_key)');
    return;
  }
  res.status(200).type('text/plain; charset=utf-8').set('Cache-Control', 'no-cache').end(text);
}

/** The express app of one worker. */
export function createApp(ctx: DbContext): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  // querystring semantics ('+' is a space, repeated keys become arrays) like SKS's decoder.
  app.set('query parser', 'simple');

  app.use(httpMetricsMiddleware());
  app.use((req, res, next) => {
    res.setHeader('Server', SERVER_HEADER);
    res.setHeader('Via', VIA_HEADER);
    if (req.method === 'OPTIONS') {
      // CORS preflight: every lookup is public data.
      res.set('Access-Control-Allow-Origin', '*');
      res.set('Access-Control-Allow-Methods', 'GET, HEAD, POST, OPTIONS');
      res.set('Access-Control-Allow-Headers', 'Content-Type');
      res.status(204).end();
      return;
    }
    next();
  });

  app.get('/pks/lookup', wrap(ctx, (c, req, res) => handleLookup(c, req.query, res)));
  app.post('/pks/add', wrap(ctx, handleAdd));
  app.post('/pks/hashquery', wrap(ctx, handleHashquery, true));
  app.post('/pks/delete', wrap(ctx, handleOwnerDelete));
  app.all('/pks/lookup', (_req, res) => sendError(res, 405, 'use GET for /pks/lookup'));
  app.all(['/pks/add', '/pks/hashquery', '/pks/delete'], (_req, res) => sendError(res, 405, 'use POST for this path'));
  app.get('/pks/blocklist.asc', (_req, res) => sendSignedBlocklist(ctx, res));
  app.use('/pks', (req, res) => sendError(res, 404, `unknown path /pks${req.path}`));
  app.use('/.well-known/openpgpkey', wkdRouter(ctx));
  app.use('/vks/v1', vksRouter(ctx));
  app.use(webRouter(ctx));

  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const e = err as Error & { status?: number; type?: string };
    if (typeof e.status === 'number' && e.status >= 400 && e.status < 500) {
      sendError(res, e.status, e.message);
      return;
    }
    // The path of a VKS or WKD request names the key asked for: log only its first two segments unless allowed.
    const path = ctx.settings.log_lookups ? req.path : req.path.split('/').slice(0, 3).join('/');
    ctx.logger.error('request failed', { path, error: e.stack ?? String(e) });
    sendError(res, 500, 'internal error; see the server log');
  });
  return app;
}

export interface DbOptions {
  basedir?: string;
  settings?: Partial<Settings>;
  /** 0 = serve in this process (tests); n > 0 = cluster of n workers; undefined = settings.db_workers. */
  workers?: number;
  logger?: Logger;
}

export interface RunningDb {
  port: number;
  url: string;
  stop(): Promise<void>;
}

/** Settings and paths of a run: sksconf of the base directory, overridden by `opts.settings`. */
function resolveRun(opts: DbOptions) {
  const base = loadBasedir(opts.basedir);
  const settings = resolveSettings(base, opts.settings);
  return { base, settings, dbPath: base.path(settings.db_file) };
}

/** Builds the per-process context: a read-only store and a lazily opened writer. */
export function openContext(opts: DbOptions): { ctx: DbContext; close(): void } {
  const { base, settings, dbPath } = resolveRun(opts);
  const logger =
    opts.logger ??
    createLogger({ service: 'sks-db', dir: base.path(settings.log_dir), level: settings.log_level });
  const policy = policyFromSettings(settings);
  const busyTimeoutMs = settings.db_busy_timeout_ms;
  const store = KeyStore.open(dbPath, { readonly: true, policy, logger, busyTimeoutMs, mmapMiB: settings.db_reader_mmap_mib, cacheMiB: settings.db_reader_cache_mib,
    fingerprintTableMiB: settings.db_reader_fingerprint_table_mib });
  let writer: KeyStore | undefined;
  // The database version is read once per turn of the event loop (a PRAGMA costs as much as a small lookup): the
  // requests handled in one turn all arrived before the look, so none is answered from before a change that its
  // client could have seen completed. A write of this worker forgets it at once. The turn's reads share one
  // snapshot from then on, released at the end of the turn (store.holdSnapshot: one read transaction, not one per
  // statement).
  let version: number | undefined;
  let release: (() => void) | undefined;
  const endTurn = () => {
    version = undefined;
    release?.();
    release = undefined;
  };
  const readVersion = (): number => {
    if (version === undefined) {
      release ??= store.holdSnapshot();
      version = store.dataVersion();
      setImmediate(endTurn);
    }
    return version;
  };
  const ctx: DbContext = {
    store,
    writer: () =>
      (writer ??= KeyStore.open(dbPath, { policy, logger, busyTimeoutMs, checkpointEveryMs: settings.wal_checkpoint_interval_ms })),
    resetWriter: () => {
      try {
        writer?.close();
      } catch {
        // a connection that failed may fail to close: it is dropped either way
      }
      writer = undefined;
    },
    settings,
    basedir: base.dir,
    logger,
    webRoot: base.path(settings.web_root),
    membershipFile: base.path('membership'),
    startedAt: Date.now(),
    // for lookups node's http server answers (the front keeps its own replies, see frontAnswer) and the VKS API:
    // an eighth of lookup_cache_bytes per key, a sixteenth for whole answers
    answers: new AnswerCache<Buffer | string>(Math.floor(settings.lookup_cache_bytes / 8)),
    lookups: new LookupCache<LookupAnswer>(Math.floor(settings.lookup_cache_bytes / 16),
      (a) => (Buffer.isBuffer(a.body) ? { ...a, body: ownBuffer(a.body) } : a)),
    dataVersion: readVersion,
    // after this worker's own write: the next read must see it, so the turn's snapshot ends here
    forgetDataVersion: endTurn,
  };
  return {
    ctx,
    close() {
      store.close();
      writer?.close();
    },
  };
}

/** Applies the header/body/keep-alive timeouts (settings) to a server. */
function applyTimeouts(server: http.Server, s: Settings): void {
  // Node requires headersTimeout <= requestTimeout (0 disables the request timeout).
  server.requestTimeout = s.request_timeout_ms;
  server.headersTimeout = s.request_timeout_ms > 0 ? Math.min(s.request_header_timeout_ms, s.request_timeout_ms) : s.request_header_timeout_ms;
  server.keepAliveTimeout = s.keepalive_timeout_ms;
  // A socket whose answers have not moved for this long (its client reads nothing) is closed; one that is merely
  // quiet (a handler at work, an idle keep-alive connection) is left to the timeouts above.
  server.timeout = s.send_timeout_ms;
  server.on('timeout', (socket: import('node:net').Socket) => {
    if (socket.writableLength > 0) socket.destroy();
  });
}

/** Serves in this process: used by tests (workers: 0) and by each cluster worker. */
async function serveHere(opts: DbOptions): Promise<RunningDb> {
  const { ctx, close } = openContext(opts);
  const stopStats = startStats(ctx);
  const handler = createHandler(ctx);
  const fronts: Front[] = [];
  // Connections start at the lookup front; whatever it does not serve goes on to node's http server (`fallback`),
  // which listens on no port of its own.
  // Node checks the header/request timeouts every connectionsCheckingInterval (30 s by default): check often
  // enough that a stalled client is cut off close to the configured limit.
  const check = Math.max(100, Math.min(1000, Math.floor(ctx.settings.request_header_timeout_ms / 4)));
  const fallback = http.createServer({ connectionsCheckingInterval: check }, handler);
  applyTimeouts(fallback, ctx.settings);
  // node's server tracks its connections' header and body timeouts from its 'listening' event on.
  fallback.emit('listening');
  const wire = new WireArena();
  const answer = frontAnswer(ctx, wire);
  const turn = new SendTurn((allSent) => wire.flushed(allSent));
  let port = ctx.settings.hkp_port;
  for (const address of ctx.settings.hkp_address) {
    const front = createFront({
      answer,
      fallback,
      turn,
      headerTimeoutMs: ctx.settings.request_header_timeout_ms,
      keepAliveTimeoutMs: ctx.settings.keepalive_timeout_ms,
      sendTimeoutMs: ctx.settings.send_timeout_ms,
      onError: (err) => ctx.logger.error('request failed', { path: '/pks/lookup', error: (err as Error).stack ?? String(err) }),
    });
    front.server.listen(port, address);
    await once(front.server, 'listening');
    const a = front.server.address();
    if (a && typeof a === 'object') port = a.port;
    fronts.push(front);
  }
  const host = ctx.settings.hkp_address[0] ?? '127.0.0.1';
  let stopped = false;
  return {
    port,
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    async stop() {
      if (stopped) return;
      stopped = true;
      stopStats();
      await Promise.all(fronts.map((f) => f.close()));
      fallback.close(() => undefined); // not listening: this stops its timeout checks
      fallback.closeAllConnections();
      close();
    },
  };
}

/** Creates and migrates the database once, before any worker opens it read-only. */
function prepareDatabase(opts: DbOptions): void {
  const { settings, dbPath } = resolveRun(opts);
  const store = KeyStore.open(dbPath, { policy: policyFromSettings(settings) });
  try {
    // WKD requests without ?l= read every address at their domain: one small index per domain makes that cheap.
    store.ensureDomainIndexes(settings.wkd_domains);
  } finally {
    store.close();
  }
}

const WORKER_ENV = 'SKS_DB_WORKER_OPTIONS';
/** How often one worker slot is started when a signal stops its worker before it listens. */
const WORKER_START_TRIES = 3;

class WorkerSignalled extends Error {
  constructor(signal: string) {
    super(`sks-db worker stopped by ${signal} before listening`);
  }
}

/** node's options for a worker process: this process's, with the young generation's semi-space set to `semiSpaceMib`
 * (db_worker_semi_space_mib; 0 leaves node's own) and V8's memory reducer on or off (db_worker_memory_reducer). An
 * option given to node already wins over either setting. */
export function workerExecArgv(execArgv: readonly string[], semiSpaceMib: number, memoryReducer: boolean): string[] {
  const out = [...execArgv];
  if (semiSpaceMib > 0 && !execArgv.some((a) => /^--max[-_]semi[-_]space[-_]size\b/.test(a))) out.push(`--max-semi-space-size=${semiSpaceMib}`);
  if (!memoryReducer && !execArgv.some((a) => /^--(no[-_])?memory[-_]reducer$/.test(a))) out.push('--no-memory-reducer');
  return out;
}

/** Starts sks-db: in this process (workers 0) or as a cluster of worker processes sharing the port. */
export async function startDb(opts: DbOptions = {}): Promise<RunningDb> {
  prepareDatabase(opts);
  const { base, settings } = resolveRun(opts);
  let workers = opts.workers ?? settings.db_workers;
  if (opts.workers === undefined && workers === 0) workers = availableParallelism();
  // Prometheus metrics (metrics_port, 0 = off); a cluster's primary answers with the sum over its workers.
  const metrics: MetricsServer | undefined = settings.metrics_port > 0
    ? await startMetricsServer({ port: settings.metrics_port, address: settings.metrics_address, clusterPrimary: workers > 0 })
    : undefined;
  if (workers === 0) {
    const db = await serveHere(opts);
    return { ...db, stop: async () => { await metrics?.stop(); await db.stop(); } };
  }

  // Cluster: the first worker binds (port 0 picks one); the others then bind the same port.
  const self = fileURLToPath(import.meta.url);
  const workerFile = self.replace(/server\.(ts|js)$/, 'worker.$1');
  cluster.setupPrimary({ exec: workerFile, execArgv: workerExecArgv(process.execArgv, settings.db_worker_semi_space_mib, settings.db_worker_memory_reducer), args: [], silent: false });
  const forkOne = (port: number) =>
    cluster.fork({ [WORKER_ENV]: JSON.stringify({ basedir: opts.basedir, settings: { ...(opts.settings ?? {}), hkp_port: port } }) });
  type Worker = ReturnType<typeof cluster.fork>;
  const waitReady = (w: Worker) =>
    new Promise<number>((resolve, reject) => {
      w.on('message', (m: { ready?: number }) => {
        if (typeof m?.ready === 'number') resolve(m.ready);
      });
      w.once('exit', (code, signal) =>
        reject(signal ? new WorkerSignalled(signal) : new Error(`sks-db worker exited with ${code} before listening`)));
    });
  // A worker that a signal stopped before it listened is started again: Ctrl-C in a terminal reaches the whole
  // process group, workers still loading included, and the primary, not the workers, decides when the service
  // stops (its own handler stops the service as soon as it is up). A worker that fails by itself fails the start.
  const startOne = async (port: number): Promise<{ w: Worker; port: number }> => {
    for (let tries = 1; ; tries++) {
      const w = forkOne(port);
      try {
        return { w, port: await waitReady(w) };
      } catch (e) {
        if (!(e instanceof WorkerSignalled) || tries >= WORKER_START_TRIES) throw e;
      }
    }
  };
  const first = await startOne(settings.hkp_port);
  const port = first.port;
  const all = [first.w, ...(await Promise.all(Array.from({ length: workers - 1 }, () => startOne(port)))).map((r) => r.w)];
  let stopping = false;
  // Replace a worker that dies, so the service keeps its capacity; say so, or nobody learns that it crashed (its
  // own error, if it had time to write one, is on the service's stderr).
  let logger = opts.logger;
  const onExit = (w: Worker, code: number | null, signal: string | null) => {
    if (stopping || !all.includes(w)) return;
    logger ??= createLogger({ service: 'sks-db', dir: base.path(settings.log_dir), level: settings.log_level });
    logger.error('an sks-db worker stopped unexpectedly; starting another', { pid: w.process.pid, code, signal });
    all.splice(all.indexOf(w), 1, forkOne(port));
  };
  cluster.on('exit', onExit);
  const host = settings.hkp_address[0] ?? '127.0.0.1';
  return {
    port,
    url: `http://${host}:${port}`,
    async stop() {
      stopping = true;
      await metrics?.stop();
      cluster.off('exit', onExit);
      await Promise.all(
        all.map(async (w) => {
          if (w.isDead()) return;
          const gone = once(w, 'exit');
          w.kill('SIGTERM');
          const t = setTimeout(() => w.process.kill('SIGKILL'), 5000);
          await gone;
          clearTimeout(t);
        }),
      );
    },
  };
}

/** Entry of a cluster worker process (see worker.ts). */
export async function runWorker(): Promise<void> {
  const opts = JSON.parse(process.env[WORKER_ENV] ?? '{}') as DbOptions;
  const db = await serveHere(opts);
  process.send?.({ ready: db.port });
  process.on('SIGTERM', () => {
    void db.stop().finally(() => process.exit(0));
  });
}
