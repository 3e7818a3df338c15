// docs/OPERATIONS.md documents every sksconf setting: its table is generated from SETTINGS (keystore's
// config/settings.ts), and this test fails when the two differ. `UPDATE_DOCS=1` rewrites the table in place.
// It also checks that every sks-cron job and every metric the services export is described.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { SETTINGS } from '../packages/keystore/src/index.js';
import { metricsRegistry } from '../packages/service/src/index.js';
import { JOBS } from '../packages/sks-cron/src/index.js';
// sks-db's HTTP metrics register themselves when their module loads.
import '../packages/sks-db/src/http-metrics.js';

const DOC = fileURLToPath(new URL('../docs/OPERATIONS.md', import.meta.url));
const BEGIN = '<!-- settings:begin (generated from packages/keystore/src/config/settings.ts; UPDATE_DOCS=1 refreshes it) -->';
const END = '<!-- settings:end -->';

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\s+/g, ' ').trim();
}

function defaultOf(d: string | number | boolean | string[], type: string): string {
  if (type === 'bool') return d ? 'on (bare `name:`)' : 'off';
  if (Array.isArray(d)) return d.length ? `\`${d.join(' ')}\`` : '(empty)';
  if (d === '') return '(empty)';
  return `\`${String(d)}\``;
}

export function settingsTable(): string {
  const rows = Object.entries(SETTINGS).map(([name, s]) =>
    `| \`${name}\` | ${s.type} | ${defaultOf(s.default, s.type)} | ${s.usedBy.join(', ')} | ${cell(s.doc)} |`);
  return ['| setting | type | default | read by | meaning |', '|---|---|---|---|---|', ...rows].join('\n');
}

test('OPERATIONS.md lists every sksconf setting with its default and meaning (generated table is current)', () => {
  const doc = readFileSync(DOC, 'utf8');
  const a = doc.indexOf(BEGIN);
  const b = doc.indexOf(END);
  assert.ok(a >= 0 && b > a, `markers for the settings table missing in ${DOC}`);
  const want = `${BEGIN}\n${settingsTable()}\n${END}`;
  const have = doc.slice(a, b + END.length);
  if (have !== want && process.env.UPDATE_DOCS === '1') {
    writeFileSync(DOC, doc.slice(0, a) + want + doc.slice(b + END.length));
    return;
  }
  // A reworded meaning is tolerated; a missing setting or a wrong type or default is not.
  const wrong = Object.entries(SETTINGS)
    .map(([name, s]) => `| \`${name}\` | ${s.type} | ${defaultOf(s.default, s.type)} | `)
    .filter((prefix) => !have.includes(prefix));
  assert.deepEqual(wrong, [], 'docs/OPERATIONS.md lacks these settings (or shows another default): run this test with UPDATE_DOCS=1');
  const documented = [...have.matchAll(/^\| `(\w+)` \|/gm)].map((m) => m[1]!);
  assert.deepEqual(documented.filter((n) => !(n in SETTINGS)), [], 'documented settings that no longer exist');
});

test('OPERATIONS.md describes every cron job and every exported metric', async () => {
  const doc = readFileSync(DOC, 'utf8');
  for (const j of JOBS) {
    assert.match(doc, new RegExp(`\`${j.name}\``), `job ${j.name}`);
    assert.match(doc, new RegExp(`\`${j.schedule}\``), `schedule setting ${j.schedule}`);
  }
  // The services' own metrics (prom-client's process defaults are described as a group).
  const names = (await metricsRegistry.getMetricsAsJSON()).map((m) => m.name).filter((n) => n.startsWith('sks_'));
  assert.ok(names.length >= 6, names.join(', '));
  for (const n of names) assert.match(doc, new RegExp(`\`${n}\``), `metric ${n}`);
});
