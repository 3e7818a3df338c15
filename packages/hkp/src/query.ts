import type { ParsedUrlQuery } from 'node:querystring';

/** A parsed query string (node's querystring, which express's 'simple' parser is too). */
export type Query = ParsedUrlQuery | Record<string, unknown>;

/** Query parameters of a lookup as SKS reads them: the last value wins, keys are case-sensitive. */
export function queryParam(query: Query, name: string): string | undefined {
  const v = query[name];
  if (Array.isArray(v)) {
    const last = v[v.length - 1];
    return typeof last === 'string' ? last : undefined;
  }
  return typeof v === 'string' ? v : undefined;
}

/** Whether a request asked for machine-readable output (options=mr, alone or in a list), so errors come as text. */
export function wantsMachineReadable(query: Query): boolean {
  return /(^|,)mr(,|$)/i.test(String(queryParam(query, 'options') ?? ''));
}
