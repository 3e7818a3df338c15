// `sks-admin init`: a base directory ready to run (sksconf, membership, web root, log and dump folders, empty
// database). Never overwrites anything that exists.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KeyStore, loadBasedir, SETTINGS } from '@sks/keystore';

/** A default sksconf: every setting commented out with its default, so an operator sees what can be set. */
export function defaultSksconf(): string {
  const lines = [
    '# sksconf: SKS syntax ("name: value"; a boolean option is a bare "name:"). Every line below shows a default.',
    '# An existing SKS sksconf works too; options only SKS knows are accepted and ignored.',
    '',
  ];
  for (const [name, spec] of Object.entries(SETTINGS)) {
    const d = spec.default;
    const value = Array.isArray(d) ? d.join(' ') : typeof d === 'boolean' ? (d ? '' : 'false') : String(d);
    lines.push(`# ${spec.doc}`, `#${name}: ${value}`.trimEnd(), '');
  }
  return lines.join('\n');
}

export interface InitResult {
  dir: string;
  created: string[];
  /** The schema version the existing database was migrated from, if it was. */
  migratedFrom?: number;
}

export function initBasedir(explicit?: string): InitResult {
  const base = loadBasedir(explicit);
  const created: string[] = [];
  const mkdir = (p: string) => {
    if (!existsSync(p)) {
      mkdirSync(p, { recursive: true });
      created.push(p);
    }
  };
  const write = (p: string, text: string) => {
    if (!existsSync(p)) {
      writeFileSync(p, text, { flag: 'wx' });
      created.push(p);
    }
  };
  mkdir(base.dir);
  write(join(base.dir, 'sksconf'), defaultSksconf());
  write(join(base.dir, 'membership'), '# Recon peers, one "host port" per line (port = their recon port, usually 11370).\n');
  write(base.path(base.settings.sync_targets_file), [
    '# Push sync: servers that do not reconcile get every new or changed key (docs/OPERATIONS.md "Push sync").',
    '# One URL a line, an optional priority after it (lower first):',
    '#   hkp://keys.example.org   hkps://keys.example.net 10   vks://keys.example.com   mailto:pks@example.org',
    '',
  ].join('\n'));
  mkdir(base.path(base.settings.web_root));
  mkdir(base.path(base.settings.log_dir));
  mkdir(base.path(base.settings.dump_dir));
  // Opening writable creates the database, or migrates an existing one to this program's schema: `make run` calls
  // init first, so a long migration after an upgrade happens here, not while the services wait for the lock.
  const existed = existsSync(base.dbPath);
  const store = KeyStore.open(base.dbPath);
  const migratedFrom = store.migratedFrom;
  store.close();
  if (!existed) created.push(base.dbPath);
  return { dir: base.dir, created, migratedFrom };
}
