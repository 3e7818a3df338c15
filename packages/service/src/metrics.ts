// Prometheus metrics shared by the services (prom-client), served on a port of their own (metrics_port for sks-db,
// metrics_port + 1 for sks-recon; metrics_address). sks-db's cluster workers keep their own counters; its primary
// process answers scrapes with the sum over all workers (prom-client's AggregatorRegistry).
//
// What is counted here: keys written by source and outcome (added, updated, unchanged, refused), recon sessions by
// role and result, keys recovered; sks-db adds its HTTP requests and their latency (http-metrics.ts), by route class,
// never by what was looked up.
import cluster from 'node:cluster';
import http from 'node:http';
import { once } from 'node:events';
import client from 'prom-client';
import type { WriteOutcome, WriteSource } from '@sks/keystore';

const registry = client.register;
/** The one prom-client of the process, for metrics defined in the services themselves (one registry). */
export const promClient = client;
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

export const keysWritten = new client.Counter({
  name: 'sks_keys_written_total',
  help: 'Keys offered to the store, by source (load, add, recon, admin) and outcome (inserted = added, updated, '
    + 'unchanged, rejected = refused by policy or blocklist).',
  labelNames: ['source', 'outcome'] as const,
});

export const policyCutPackets = new client.Counter({
  name: 'sks_policy_cut_packets_total',
  help: 'Packets policy removed from keys as they were stored (flooded certifications, oversized packets, user '
    + 'attributes, ...), by source and rule.',
  labelNames: ['source', 'rule'] as const,
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

/** Counts the outcomes of one write (upsert) by its source: /pks/add, recon, load, admin. */
export function recordWrites(source: WriteSource, outcomes: readonly WriteOutcome[]): void {
  for (const o of outcomes) {
    keysWritten.inc({ source, outcome: o.status });
    for (const c of o.cuts ?? []) policyCutPackets.inc({ source, rule: c.rule }, c.packets);
  }
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
