// Prometheus metrics shared by the services (prom-client), served on a port of their own (metrics_port for sks-db,
// metrics_port + 1 for sks-recon; metrics_address). sks-db's cluster workers keep their own counters; its primary
// process answers scrapes with the sum over all workers (prom-client's AggregatorRegistry).
//
// What is counted: HTTP requests and their latency (by route class, never by what was looked up), keys written by
// source and outcome (added, updated, unchanged, refused), recon sessions by role and result, keys recovered.
import cluster from 'node:cluster';
import http from 'node:http';
import { once } from 'node:events';
import client from 'prom-client';
import type { WriteOutcome, WriteSource } from './store/keystore.js';

const registry = client.register;
/** The registry every metric of this process is in (GET /metrics answers with it). */
export const metricsRegistry = registry;

/** Workers answer the primary's scrape requests (listeners are set up by constructing an AggregatorRegistry). */
if (cluster.isWorker) new client.AggregatorRegistry();

let defaultsCollected = false;
function collectDefaults(): void {
  if (defaultsCollected) return;
  defaultsCollected = true;
  client.collectDefaultMetrics({ prefix: 'sks_' });
}

export const httpRequests = new client.Counter({
  name: 'sks_http_requests_total',
  help: 'HTTP requests answered by sks-db, by route class, method and status code.',
  labelNames: ['route', 'method', 'status'] as const,
});

export const httpDuration = new client.Histogram({
  name: 'sks_http_request_duration_seconds',
  help: 'Time from request to the end of the answer, by route class.',
  labelNames: ['route'] as const,
  buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
});

export const keysWritten = new client.Counter({
  name: 'sks_keys_written_total',
  help: 'Keys offered to the store, by source (load, add, recon, admin) and outcome (inserted = added, updated, '
    + 'unchanged, rejected = refused by policy or blocklist).',
  labelNames: ['source', 'outcome'] as const,
});

export const reconSessions = new client.Counter({
  name: 'sks_recon_sessions_total',
  help: 'Recon sessions, by role (initiator, acceptor) and result (ok, error, refused = turned away: busy or not a member).',
  labelNames: ['role', 'result'] as const,
});

export const reconKeysRecovered = new client.Counter({
  name: 'sks_recon_keys_recovered_total',
  help: 'Keys fetched from peers after reconciliation and stored (inserted or updated).',
});

export const reconDigestsMissing = new client.Counter({
  name: 'sks_recon_digests_missing_total',
  help: 'Digests reconciliation found we lack (before fetching).',
});

export const reconKeysRefused = new client.Counter({
  name: 'sks_recon_keys_refused_total',
  help: 'Digests fetched after reconciliation that the store did not take (refused or cut by policy, or not served).',
});

/** What sks-recon reports per session (its SessionSummary; the fields counted here). */
export interface ReconSessionFigures {
  role: string;
  ok: boolean;
  errorKind?: string;
  /** Digests the session found we lack. */
  recovered: number;
  /** Keys inserted or updated. */
  stored: number;
  refused: number;
}

/** Counts one finished (or turned away) recon session. */
export function recordReconSession(s: ReconSessionFigures): void {
  const result = s.ok ? 'ok' : s.errorKind === 'busy' || s.errorKind === 'membership' ? 'refused' : 'error';
  reconSessions.inc({ role: s.role, result });
  reconDigestsMissing.inc(s.recovered);
  reconKeysRecovered.inc(s.stored);
  reconKeysRefused.inc(s.refused);
}

/** Route class of a path: a fixed, small set of labels (never the search term). */
export function routeClass(path: string, query?: Record<string, unknown>): string {
  if (path === '/pks/lookup') {
    const op = String(query?.op ?? '').toLowerCase();
    return ['get', 'index', 'vindex', 'stats', 'hget', 'x-get-bykeyid'].includes(op) ? `lookup_${op}` : 'lookup_other';
  }
  if (path === '/pks/add') return 'add';
  if (path === '/pks/hashquery') return 'hashquery';
  if (path.startsWith('/.well-known/openpgpkey/')) return 'wkd';
  if (path.startsWith('/vks/')) return 'vks';
  if (path.startsWith('/pks/')) return 'pks_other';
  return 'web';
}

interface ReqLike {
  method?: string;
  path?: string;
  url?: string;
  query?: Record<string, unknown>;
}
interface ResLike {
  statusCode: number;
  once(event: 'finish' | 'close', fn: () => void): unknown;
}

// Label children cached by their values: prom-client hashes the label object on every inc()/observe() otherwise,
// which on the lookup path cost more than answering from the cache (measured with wrk).
const requestCounters = new Map<string, client.Counter.Internal>();
const durationObservers = new Map<string, client.Histogram.Internal<string>>();

/** Counts one answered HTTP request and its latency (route is a routeClass, never the search term). */
export function recordHttpRequest(route: string, method: string, status: number, seconds: number): void {
  const key = `${route} ${method} ${status}`;
  let counter = requestCounters.get(key);
  if (!counter) requestCounters.set(key, (counter = httpRequests.labels(route, method, String(status))));
  counter.inc();
  let observer = durationObservers.get(route);
  if (!observer) durationObservers.set(route, (observer = httpDuration.labels(route)));
  observer.observe(seconds);
}

/** Middleware (express or plain node) counting each request and its latency once the answer is finished. */
export function httpMetricsMiddleware() {
  return (req: ReqLike, res: ResLike, next: () => void): void => {
    const start = performance.now();
    const path = req.path ?? (req.url ?? '/').split('?')[0] ?? '/';
    const route = routeClass(path, req.query);
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      recordHttpRequest(route, req.method ?? 'GET', res.statusCode, (performance.now() - start) / 1000);
    };
    res.once('finish', finish);
    res.once('close', finish);
    next();
  };
}

/** Counts the outcomes of one write (upsert) by its source: /pks/add, recon, load, admin. */
export function recordWrites(source: WriteSource, outcomes: readonly WriteOutcome[]): void {
  for (const o of outcomes) keysWritten.inc({ source, outcome: o.status });
}

export interface MetricsServer {
  port: number;
  url: string;
  stop(): Promise<void>;
}

/** Serves GET /metrics on address:port (port 0 picks one). `clusterPrimary`: answer with the sum over all cluster
 * workers (sks-db's primary process) instead of this process's own counters. */
export async function startMetricsServer(opts: { port: number; address: string; clusterPrimary?: boolean }): Promise<MetricsServer> {
  collectDefaults();
  const aggregator = opts.clusterPrimary ? new client.AggregatorRegistry() : undefined;
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '/').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('only GET /metrics here\n');
      return;
    }
    const body = aggregator ? aggregator.clusterMetrics() : registry.metrics();
    body.then(
      (text) => res.writeHead(200, { 'Content-Type': registry.contentType }).end(text),
      (err: Error) => res.writeHead(500, { 'Content-Type': 'text/plain' }).end(`metrics unavailable: ${err.message}\n`),
    );
  });
  server.listen(opts.port, opts.address);
  await once(server, 'listening');
  const a = server.address();
  const port = a && typeof a === 'object' ? a.port : opts.port;
  const host = opts.address.includes(':') ? `[${opts.address}]` : opts.address;
  return {
    port,
    url: `http://${host}:${port}/metrics`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
