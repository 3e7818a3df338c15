#!/usr/bin/env node
// Runs one tier of the tests with node's test runner (`make test-fast`, `make test`). A test's folder is its tier:
//   fast         packages/<pkg>/test/*.test.ts — one package, in this process: no GnuPG, SKS, nginx, docker or
//                Chromium, no spawned service. Files run two at a time.
//   integration  packages/<pkg>/test/integration/*.test.ts — a package against the real programs it talks to, or its
//                own process spawned; test/*.test.ts — the suite across packages and processes (make run, compose,
//                real SKS). One file at a time: they start servers on shared ports and measure memory and time.
//   node scripts/test-tier.mjs fast|integration [more node --test options, e.g. --test-name-pattern=...]
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The *.test.ts files directly in `dir` (relative to the root), sorted. */
function testsIn(dir) {
  const abs = join(root, dir);
  if (!existsSync(abs)) return [];
  return readdirSync(abs).filter((f) => f.endsWith('.test.ts')).sort().map((f) => relative(root, join(abs, f)));
}

const packages = readdirSync(join(root, 'packages')).sort();
const tiers = {
  fast: packages.flatMap((p) => testsIn(`packages/${p}/test`)),
  integration: [...packages.flatMap((p) => testsIn(`packages/${p}/test/integration`)), ...testsIn('test')],
};
const concurrency = { fast: 2, integration: 1 };

const [tier, ...options] = process.argv.slice(2);
if (!(tier in tiers)) {
  console.error(`usage: node scripts/test-tier.mjs ${Object.keys(tiers).join('|')} [node --test options]`);
  process.exit(2);
}
const args = ['--conditions=source', '--import', 'tsx', '--test', `--test-concurrency=${concurrency[tier]}`, ...options, ...tiers[tier]];
const run = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
process.exit(run.status ?? 1);
