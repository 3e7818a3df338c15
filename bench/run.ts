// `make bench`: every benchmark, ours beside real SKS 1.1.6 on the same data and machine, as ratios.
// Each part lives in its own file and exports a runner that returns its figures; this file only prints them.
// BENCH_ONLY=load,lookup,lookup-stages,lookup-random,recon,field,hockeypuck,flood,push picks parts; each part's own variables (BENCH_LOAD_KEYS ...) scale it.
// Part `scale` (network-scale stores up to 6M keys: ~70 min to generate once, ~25 min a run) runs only when named:
// BENCH_ONLY=scale, or `make bench-scale`.
import { cpus, totalmem } from 'node:os';
import type { Row } from './row.js';

interface Part {
  name: string;
  file: string;
  fn: string;
  /** Run only when BENCH_ONLY names it. */
  optIn?: boolean;
}

const PARTS: Part[] = [
  { name: 'load', file: './load.js', fn: 'runLoadBench' },
  { name: 'lookup', file: './lookup.js', fn: 'runLookupBench' },
  { name: 'lookup-stages', file: './lookup-stages.js', fn: 'runLookupStagesBench' },
  { name: 'lookup-random', file: './lookup-random.js', fn: 'runLookupRandomBench' },
  { name: 'recon', file: './recon.js', fn: 'runReconBench' },
  { name: 'field', file: './field.js', fn: 'runFieldBench' },
  { name: 'hockeypuck', file: './hockeypuck.js', fn: 'runHockeypuckBench' },
  { name: 'flood', file: './flood.js', fn: 'runFloodBench' },
  { name: 'push', file: './push.js', fn: 'runPushBench' },
  { name: 'scale', file: './scale.js', fn: 'runScaleBench', optIn: true },
];

function fmt(v: number | string | undefined): string {
  if (v === undefined) return '';
  if (typeof v === 'string') return v;
  if (Math.abs(v) >= 100) return v.toFixed(0);
  if (Math.abs(v) >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

function printTable(title: string, rows: Row[]): void {
  const head = ['metric', 'ours', 'SKS 1.1.6', 'ratio', 'target'];
  const body = rows.map((r) => [
    r.unit ? `${r.metric} (${r.unit})` : r.metric,
    fmt(r.ours),
    fmt(r.sks),
    r.ratio === undefined ? '' : `${fmt(r.ratio)}x`,
    r.target ?? '',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log(`\n== ${title} ==`);
  console.log(line(head));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const b of body) console.log(line(b));
}

const only = process.env.BENCH_ONLY?.split(',').filter(Boolean);
console.log(`machine: ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}`);
let failed = 0;
for (const part of PARTS) {
  if (only ? !only.includes(part.name) : part.optIn) continue;
  try {
    const mod = (await import(part.file)) as Record<string, (opts?: object) => Promise<Row[]>>;
    const run = mod[part.fn];
    if (typeof run !== 'function') throw new Error(`${part.file} does not export ${part.fn}`);
    const t0 = Date.now();
    const rows = await run({});
    printTable(`${part.name} (${((Date.now() - t0) / 1000).toFixed(0)} s)`, rows);
  } catch (err) {
    failed++;
    console.log(`\n== ${part.name} == FAILED: ${(err as Error).stack ?? err}`);
  }
}
process.exit(failed ? 1 : 0);
