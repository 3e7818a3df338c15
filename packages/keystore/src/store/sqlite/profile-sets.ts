// The digest set of a recon profile other than `sks` (issue 13): one row per stored key the profile holds (its
// digest, and which stored packets it drops), and a prefix tree of those digests. Written in the same transaction
// as the key (write-tx.ts), so no set can drift from the keys. The `sks` set needs none of this: it is the keys
// table's digest column and the ptree_element/ptree_node tree, so a server with only `sks` pays nothing.
//
// Tables per profile P (created when a writer opens the store with P in recon_profiles):
//   recon_P_keys (key INTEGER PRIMARY KEY = keys.id, digest BLOB, dropped BLOB) + index on digest
//   ptree_P_element, ptree_P_node (prefix-tree.ts)
// meta 'profile_cursor:P' counts how far the set was built over keys stored before P was first active; it is
// absent once the set covers every key.
import type Database from 'better-sqlite3';
import { PrefixTree, ptreeSchemaSql, treeTables } from './prefix-tree.js';
import { tableExists } from './statements.js';

export interface ProfileRow {
  key: number;
  digest: Buffer;
  dropped: Buffer | null;
}

export function profileKeysTable(profile: string): string {
  treeTables(profile); // checks the name
  return `recon_${profile}_keys`;
}

/** Meta name of a profile set's build cursor (present while keys stored before the profile was active lack rows). */
export function buildCursorName(profile: string): string {
  return `profile_cursor:${profile}`;
}

function schemaSql(profile: string): string {
  const t = profileKeysTable(profile);
  return `
CREATE TABLE IF NOT EXISTS ${t} (
  key INTEGER PRIMARY KEY,                  -- keys.id
  digest BLOB NOT NULL,                     -- 16-byte digest of the key as this profile normalises it
  dropped BLOB                              -- indexes of the stored packets it drops (32-bit big-endian); NULL: none
);
CREATE INDEX IF NOT EXISTS ${t}_digest ON ${t} (digest);
${ptreeSchemaSql(treeTables(profile))}`;
}

export class ProfileSet {
  readonly tree: PrefixTree;
  readonly table: string;
  private stmts?: ReturnType<ProfileSet['prepare']>;

  constructor(readonly db: Database.Database, readonly name: string) {
    this.tree = new PrefixTree(db, treeTables(name));
    this.table = profileKeysTable(name);
  }

  /** Creates the set's tables if missing (writable connection). A set created on a store that already holds keys
   * starts with a build cursor at 0: buildProfileSets() then fills it. Returns whether it was created. */
  static create(db: Database.Database, name: string): boolean {
    if (ProfileSet.exists(db, name)) return false;
    db.transaction(() => {
      db.exec(schemaSql(name));
      const anyKey = db.prepare('SELECT 1 FROM keys LIMIT 1').get() !== undefined;
      if (anyKey) db.prepare('INSERT OR REPLACE INTO meta (name, value) VALUES (?, 0)').run(buildCursorName(name));
    }).immediate();
    return true;
  }

  static exists(db: Database.Database, name: string): boolean {
    return tableExists(db, profileKeysTable(name));
  }

  private prepare() {
    const t = this.table;
    const db = this.db;
    return {
      byKey: db.prepare(`SELECT key, digest, dropped FROM ${t} WHERE key = ?`),
      byDigest: db.prepare(`SELECT key, digest, dropped FROM ${t} WHERE digest = ? LIMIT 1`),
      put: db.prepare(`INSERT OR REPLACE INTO ${t} (key, digest, dropped) VALUES (?, ?, ?)`),
      remove: db.prepare(`DELETE FROM ${t} WHERE key = ?`),
      digests: db.prepare(`SELECT digest FROM ${t} ORDER BY digest`).pluck(),
      cursor: db.prepare('SELECT value FROM meta WHERE name = ?').pluck(),
    };
  }

  private get s() {
    return (this.stmts ??= this.prepare());
  }

  rowOfKey(key: number): ProfileRow | undefined {
    return this.s.byKey.get(key) as ProfileRow | undefined;
  }

  rowOfDigest(digest: Buffer): ProfileRow | undefined {
    return this.s.byDigest.get(digest) as ProfileRow | undefined;
  }

  put(key: number, digest: Buffer, dropped: Buffer | null): void {
    this.s.put.run(key, digest, dropped);
  }

  remove(key: number): void {
    this.s.remove.run(key);
  }

  digests(): IterableIterator<Buffer> {
    return this.s.digests.iterate() as IterableIterator<Buffer>;
  }

  /** The id of the last key the build has covered, or undefined when the set covers every key. */
  buildCursor(): number | undefined {
    return this.s.cursor.get(buildCursorName(this.name)) as number | undefined;
  }
}
