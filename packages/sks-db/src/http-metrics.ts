// sks-db's HTTP metrics: requests and their latency by route class (a small fixed set of labels, never the search
// term), counted by a middleware on express and by the lookup front on its raw sockets.
import { promClient as client } from '@sks/service';

const httpRequests = new client.Counter({
  name: 'sks_http_requests_total',
  help: 'HTTP requests answered by sks-db, by route class, method and status code.',
  labelNames: ['route', 'method', 'status'] as const,
});

const httpDuration = new client.Histogram({
  name: 'sks_http_request_duration_seconds',
  help: 'Time from request to the end of the answer, by route class.',
  labelNames: ['route'] as const,
  buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
});

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
const requestCounters = new Map<string, ReturnType<typeof httpRequests.labels>>();
const durationObservers = new Map<string, ReturnType<typeof httpDuration.labels>>();

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

