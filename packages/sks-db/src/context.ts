// What every request handler of one worker shares: its store, settings and logger.
import type { KeyStore, Settings, Logger } from '@sks/keystore';
import type { AnswerCache, LookupCache } from './answer-cache.js';
import type { HttpError } from '@sks/hkp';

export interface DbContext {
  /** Read-only store of this worker (each worker opens its own). */
  store: KeyStore;
  /** Opens (once, lazily) the writable store used by /pks/add. */
  writer(): KeyStore;
  /** Closes the writable store after a failure of the store itself; the next writer() opens it again. */
  resetWriter(): void;
  settings: Settings;
  basedir: string;
  logger: Logger;
  /** Absolute path of the operator's web root (may not exist; built-in pages are the fallback). */
  webRoot: string;
  /** Absolute path of the membership file (peers shown on the stats page). */
  membershipFile: string;
  startedAt: number;
  /** Ready-made per-key answers of this worker, keyed by digest (see answer-cache.ts), for the lookups node's http
   * server answers and the VKS API; the lookup front keeps whole replies of its own (frontAnswer in server.ts). */
  answers: AnswerCache<Buffer | string>;
  /** Whole lookup answers of this worker for the current database version (see lookup.ts), for the same callers. */
  lookups: LookupCache<LookupAnswer>;
  /** SQLite's data_version of the read connection: changes whenever another connection commits. */
  dataVersion(): number;
  /** Makes the next dataVersion() read the database again (after this worker wrote). */
  forgetDataVersion(): void;
}

/** A lookup's answer as the lookup cache keeps it: a refusal, a body, or (op=get of one key, machine-readable) the
 * digest whose armor the per-key cache holds, so the big armored bodies are not kept twice. `length` is the
 * entry's size in bytes for the cache's budget. */
export interface LookupAnswer {
  length: number;
  error?: HttpError;
  status?: number;
  type?: string;
  body?: Buffer | string;
  armoredDigest?: string;
  count?: number;
  filename?: string;
}
