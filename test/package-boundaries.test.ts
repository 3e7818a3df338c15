// The layering ARCHITECTURE.md promises, checked on the sources: process packages (sks-db, sks-recon, sks-cron,
// sks-admin) import library packages only, never each other; libraries never import a process package; no import
// cycle inside a package; no source file over MAX_LINES. The checker is also run on a small tree with each kind of
// violation, so a checker that finds nothing cannot pass for a clean codebase.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeTempDir } from './support/tmp.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const PROCESSES = new Set(['sks-db', 'sks-recon', 'sks-cron', 'sks-admin']);
/** Longest source file that is still readable in one sitting. */
const MAX_LINES = 600;

function sourceFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) return sourceFiles(p);
    return n.endsWith('.ts') && !n.endsWith('.d.ts') ? [p] : [];
  });
}

/** Every module specifier a file imports or re-exports (static, dynamic and side-effect imports). */
function specifiers(text: string): string[] {
  const out: string[] = [];
  const re = /(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)['"]([^'"]+)['"]/gm;
  for (const m of text.matchAll(re)) out.push(m[1]!);
  return out;
}

/** A relative specifier ('./x.js', '../y/index.js') to the .ts file it names, if it exists. */
function resolveRelative(from: string, spec: string): string | undefined {
  const base = resolve(dirname(from), spec);
  for (const c of [base.replace(/\.js$/, '.ts'), base, `${base}.ts`, join(base, 'index.ts')]) {
    if (existsSync(c) && statSync(c).isFile()) return c;
  }
  return undefined;
}

/** Violations of the layering rules in a tree laid out as packages/<name>/{package.json,src/}. */
export function checkBoundaries(root: string): string[] {
  const problems: string[] = [];
  const pkgDir = join(root, 'packages');
  const names = readdirSync(pkgDir).filter((n) => existsSync(join(pkgDir, n, 'package.json')));
  const allowedFrom = (pkg: string, other: string) => other !== pkg && !PROCESSES.has(other);
  for (const pkg of names) {
    const manifest = JSON.parse(readFileSync(join(pkgDir, pkg, 'package.json'), 'utf8')) as Record<string, Record<string, string> | undefined>;
    for (const field of ['dependencies', 'devDependencies', 'peerDependencies']) {
      for (const dep of Object.keys(manifest[field] ?? {})) {
        const other = dep.startsWith('@sks/') ? dep.slice(5) : undefined;
        if (other && !allowedFrom(pkg, other)) problems.push(`packages/${pkg}/package.json: ${field} names the process package ${dep}`);
      }
    }
    const files = sourceFiles(join(pkgDir, pkg, 'src'));
    const graph = new Map<string, string[]>();
    for (const file of files) {
      const rel = relative(root, file);
      const text = readFileSync(file, 'utf8');
      const lines = text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
      if (lines > MAX_LINES) problems.push(`${rel}: ${lines} lines (more than ${MAX_LINES})`);
      const edges: string[] = [];
      for (const spec of specifiers(text)) {
        if (spec.startsWith('@sks/')) {
          const other = spec.slice(5).split('/')[0]!;
          if (!allowedFrom(pkg, other)) problems.push(`${rel}: imports the process package ${spec}`);
        } else if (spec.startsWith('.')) {
          const target = resolveRelative(file, spec);
          if (target && !target.startsWith(join(pkgDir, pkg, 'src'))) problems.push(`${rel}: reaches outside its package: ${spec}`);
          else if (target) edges.push(target);
        }
      }
      graph.set(file, edges);
    }
    problems.push(...cycles(graph).map((c) => `import cycle: ${c.map((f) => relative(root, f)).join(' -> ')}`));
  }
  return problems;
}

/** Every elementary cycle found by a depth-first walk (each reported once, starting at its smallest file). */
function cycles(graph: Map<string, string[]>): string[][] {
  const found = new Map<string, string[]>();
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (f: string) => {
    state.set(f, 'open');
    stack.push(f);
    for (const g of graph.get(f) ?? []) {
      if (state.get(g) === 'open') {
        const cycle = stack.slice(stack.indexOf(g));
        const start = cycle.indexOf([...cycle].sort()[0]!);
        const canonical = [...cycle.slice(start), ...cycle.slice(0, start)];
        found.set(canonical.join('|'), [...canonical, canonical[0]!]);
      } else if (!state.has(g)) {
        visit(g);
      }
    }
    stack.pop();
    state.set(f, 'done');
  };
  for (const f of graph.keys()) if (!state.has(f)) visit(f);
  return [...found.values()];
}

test('the repository keeps its layering: no process package imports another, no cycles, no oversized file', () => {
  assert.deepEqual(checkBoundaries(ROOT), []);
});

test('the checker finds each kind of violation', () => {
  const root = makeTempDir('boundaries-');
  const write = (path: string, text: string) => {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  };
  write('packages/lib/package.json', JSON.stringify({ name: '@sks/lib', dependencies: { '@sks/sks-db': 'workspace:*' } }));
  write('packages/lib/src/a.ts', "import { b } from './b.js';\nexport const a = b;\n");
  write('packages/lib/src/b.ts', "import type { a } from './a.js';\nexport const b = 1;\n");
  write('packages/lib/src/big.ts', 'export const x = 1;\n'.repeat(MAX_LINES + 1));
  write('packages/sks-cron/package.json', JSON.stringify({ name: '@sks/sks-cron', dependencies: { '@sks/lib': 'workspace:*' } }));
  write('packages/sks-cron/src/main.ts', "import { startDb } from '@sks/sks-db';\nimport '../../lib/src/a.js';\n");
  const problems = checkBoundaries(root);
  const expect = [
    /packages\/lib\/package.json: dependencies names the process package @sks\/sks-db/,
    /import cycle: packages\/lib\/src\/a\.ts -> packages\/lib\/src\/b\.ts -> packages\/lib\/src\/a\.ts/,
    /packages\/lib\/src\/big\.ts: 601 lines/,
    /packages\/sks-cron\/src\/main\.ts: imports the process package @sks\/sks-db/,
    /packages\/sks-cron\/src\/main\.ts: reaches outside its package/,
  ];
  for (const re of expect) assert.ok(problems.some((p) => re.test(p)), `${re} in:\n${problems.join('\n')}`);
  assert.equal(problems.length, expect.length, problems.join('\n'));
});
