// The recon prefix tree over key digests (SKS prefixTree.ml), stored in the same SQLite database and updated inside
// the key store's write transactions.
// OWNER: recon helper. The key store calls insert/remove; sks-recon reads nodes.
import type Database from 'better-sqlite3';

export interface PTreeNode {
  /** Bit prefix as a string of '0'/'1' characters ('' is the root). */
  prefix: string;
  numElements: number;
  /** 6 sample values (characteristic polynomial evaluated at the sample points), 17-byte little-endian each. */
  samples: Buffer[];
  isLeaf: boolean;
}

/** SQL that creates the tree's tables; the key store's schema runs it. */
export const PTREE_SCHEMA_SQL = '';

export class PrefixTree {
  constructor(readonly db: Database.Database) {}

  /** Adds a 16-byte digest. Must be called inside the caller's transaction. */
  insert(digest: Buffer): void {
    throw new Error('not implemented');
  }

  /** Removes a 16-byte digest. Must be called inside the caller's transaction. */
  remove(digest: Buffer): void {
    throw new Error('not implemented');
  }

  node(prefix: string): PTreeNode | undefined {
    throw new Error('not implemented');
  }

  /** Recomputes the whole tree from the stored digests (for an existing store or after a bulk load). */
  rebuild(): void {
    throw new Error('not implemented');
  }
}
