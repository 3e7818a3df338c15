// Shared pieces of the sks-recon tests: prefix trees in temp SQLite files, connected socket pairs.
import { createServer, connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { PrefixTree, PTREE_SCHEMA_SQL } from '@sks/keystore';
import { makeTempDir } from '../../../test/support/tmp.js';
import { RECON_VECTORS as VECTORS, RECON_CAPTURES } from '../../../test/support/fixtures.js';

export const CAPTURES = RECON_CAPTURES;

export function debianDigests(): Buffer[] {
  const j = JSON.parse(readFileSync(join(VECTORS, 'debian-keyring-sks-digests.json'), 'utf8')) as {
    vectors: Array<{ sks_hash: string }>;
  };
  return j.vectors.map((v) => Buffer.from(v.sks_hash, 'hex'));
}

export function treeOf(digests: Buffer[]): { db: Database.Database; tree: PrefixTree } {
  const db = new Database(join(makeTempDir('recon-tree-'), 'tree.sqlite'));
  db.pragma('journal_mode = WAL');
  db.exec(PTREE_SCHEMA_SQL);
  const tree = new PrefixTree(db);
  tree.rebuild(digests);
  return { db, tree };
}

/** Two ends of a real loopback TCP connection. */
export async function socketPair(): Promise<[Socket, Socket]> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as { port: number }).port;
  const accepted = new Promise<Socket>((r) => srv.once('connection', r));
  const client = connect(port, '127.0.0.1');
  await new Promise<void>((r) => client.once('connect', () => r()));
  const server = await accepted;
  srv.close();
  return [server, client];
}

/** Collects everything a socket receives until it closes or `until` says the bytes are complete. */
export function collect(sock: Socket, until?: (all: Buffer) => boolean): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const done = () => resolve(Buffer.concat(chunks));
    sock.on('data', (c: Buffer) => {
      chunks.push(c);
      if (until?.(Buffer.concat(chunks))) done();
    });
    sock.on('close', done);
    sock.on('end', done);
  });
}
