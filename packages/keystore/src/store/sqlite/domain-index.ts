// Addresses by domain, for Web Key Directory requests that name only a hash (no ?l=): a WKD hash covers the local
// part of an address, so answering one means knowing every address at the domain. key_emails is indexed by whole
// address, which cannot be searched by its end; so each WKD domain gets a small partial index holding only the
// rows at that domain. sks-db creates them at start for the domains in `wkd_domains` (and drops those of domains
// no longer listed); writes keep them in step like any index, and a bulk load leaves them alone.
import type Database from 'better-sqlite3';

const INDEX_PREFIX = 'key_emails_at_';
// A DNS name in lower case: labels of letters, digits and inner hyphens. Nothing that could end an SQL literal.
const DOMAIN = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$/;

/** The domain in lower case, or an error naming it when it is not a DNS name. */
export function checkDomain(domain: string): string {
  const d = domain.trim().toLowerCase();
  if (!DOMAIN.test(d)) throw new Error(`not a domain name: ${JSON.stringify(domain)}`);
  return d;
}

/** The rows of key_emails at `domain` (addresses are stored lower case): `substr(email, -n) = '@domain'`. The same
 * text in the index and in the query, so SQLite's planner can use the partial index. */
function atDomainTerm(domain: string): string {
  const suffix = `@${checkDomain(domain)}`;
  return `substr(email, -${suffix.length}) = '${suffix}'`;
}

function indexName(domain: string): string {
  // hex keeps names distinct for domains that differ only in '.' and '-'
  return INDEX_PREFIX + Buffer.from(checkDomain(domain)).toString('hex');
}

/** Creates the partial index of each domain that lacks one and drops those of domains not listed. Writable
 * connection; creating one reads key_emails once (about a second per million addresses). */
export function ensureDomainIndexes(db: Database.Database, domains: readonly string[]): { created: string[]; dropped: string[] } {
  const want = new Map(domains.map((d) => [indexName(d), checkDomain(d)]));
  const created: string[] = [];
  const dropped: string[] = [];
  db.transaction(() => {
    const have = new Set(
      db.prepare("SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'key_emails' AND name LIKE ?")
        .pluck().all(`${INDEX_PREFIX}%`) as string[],
    );
    for (const name of have) {
      if (want.has(name)) continue;
      db.exec(`DROP INDEX ${name}`);
      dropped.push(name);
    }
    for (const [name, domain] of want) {
      if (have.has(name)) continue;
      db.exec(`CREATE INDEX ${name} ON key_emails (email, key) WHERE ${atDomainTerm(domain)}`);
      created.push(domain);
    }
  }).immediate();
  return { created, dropped };
}

/** Every address stored at `domain`, each once, in order. Uses the domain's partial index when it exists (see
 * ensureDomainIndexes), else reads all of key_emails. */
export function addressesAtDomain(db: Database.Database, domain: string): string[] {
  return db.prepare(`SELECT DISTINCT email FROM key_emails WHERE ${atDomainTerm(domain)} ORDER BY email`).pluck().all() as string[];
}

/** Whether `domain`'s partial index exists and the query above uses it (for tests and the operator's check). */
export function domainIndexUsed(db: Database.Database, domain: string): boolean {
  const plan = db.prepare(`EXPLAIN QUERY PLAN SELECT DISTINCT email FROM key_emails WHERE ${atDomainTerm(domain)} ORDER BY email`).all() as Array<{ detail: string }>;
  return plan.some((p) => p.detail.includes(indexName(domain)));
}
