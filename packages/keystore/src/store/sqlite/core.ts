// The state of one SQLite connection to the store, shared by the backend's modules (writes, bulk load, reads).
// Private to the backend: nothing outside store/sqlite/ sees the connection.
import type Database from 'better-sqlite3';
import type { Logger } from '../../log.js';
import type { Policy } from '../../policy.js';
import { PrefixTree } from './prefix-tree.js';
import { StoreUnavailableError } from '../types.js';
import type { FingerprintTable } from './fingerprint-table.js';
import { ProfileSet } from './profile-sets.js';
import { readStatements, writeStatements, type ReadStatements, type WriteStatements } from './statements.js';
import { SignerNames } from './signer-names.js';

/** meta row present while the prefix tree lags behind the stored digests (a bulk load defers it to its end). */
export const PTREE_STALE = 'ptree_stale';

export class SqliteCore {
  readonly r: ReadStatements;
  readonly tree: PrefixTree;
  private w?: WriteStatements;
  /** In a bulk load (beginBulkLoad .. endBulkLoad): the prefix tree waits for the end. */
  bulk = false;
  /** The bulk load switched the database to a rollback journal (back to WAL at its end). */
  bulkJournal = false;
  /** In a bulk load, while keys_fingerprint is dropped: where each stored key's row is (see FingerprintTable). */
  fprTable?: FingerprintTable;
  /** PRAGMA data_version when this connection last wrote: another value means another connection wrote since. */
  lastDataVersion = -1;
  private dataVersionStmt?: Database.Statement;
  private names?: SignerNames;

  /** The digest sets of the active recon profiles other than `sks` (policy.reconProfiles). A writable open
   * creates missing ones; a read-only one sees those a writer created. */
  readonly profiles: ProfileSet[] = [];
  /** Active profiles whose sets no writer has created yet (seen by a read-only open). */
  readonly missingProfiles: string[] = [];

  constructor(readonly db: Database.Database, readonly readonly: boolean, readonly policy: Policy, readonly logger?: Logger) {
    this.r = readStatements(db);
    this.tree = new PrefixTree(db);
    for (const name of policy.reconProfiles ?? []) {
      if (name === 'sks') continue;
      if (!readonly && ProfileSet.create(db, name)) logger?.info('recon profile set created', { profile: name });
      if (ProfileSet.exists(db, name)) this.profiles.push(new ProfileSet(db, name));
      else this.missingProfiles.push(name);
    }
  }

  profileSet(name: string): ProfileSet | undefined {
    return this.profiles.find((p) => p.name === name);
  }

  get ws(): WriteStatements {
    if (this.readonly) throw new Error('the key store is open read-only');
    return (this.w ??= writeStatements(this.db));
  }

  /** vindex signer names as this connection sees them (writes keep the stored ones current with it). */
  get signerNames(): SignerNames {
    return (this.names ??= new SignerNames(this.db));
  }

  dataVersion(): number {
    return (this.dataVersionStmt ??= this.db.prepare('PRAGMA data_version').pluck()).get() as number;
  }
}

/** SQLite result codes that say the store, not the input, failed: locked past the busy timeout, disk full, I/O
 * error, read-only file or directory, damaged file, out of memory. */
const UNAVAILABLE = /^SQLITE_(BUSY|LOCKED|FULL|IOERR|READONLY|CANTOPEN|CORRUPT|NOMEM|NOTADB|PROTOCOL|PERM)/;

/** Turns a failure of SQLite itself into StoreUnavailableError; anything else passes unchanged. */
export function asUnavailable(e: unknown): unknown {
  const code = (e as { code?: unknown })?.code;
  if (typeof code === 'string' && UNAVAILABLE.test(code)) {
    return new StoreUnavailableError(`the key store is unavailable: ${(e as Error).message}`, { cause: e, code });
  }
  return e;
}
