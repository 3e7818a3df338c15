// The service helpers every process uses: settings merged key by key, the command line read one way, and a stop
// on SIGTERM that runs the process's own stop once before it exits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultSettings } from '@sks/keystore';
import { UsageError, intArg, readArgs, resolveSettings } from '../src/index.js';
import { makeTempDir } from '../../../test/support/tmp.js';

test('overrides replace the base directory\'s settings one by one; undefined changes nothing', () => {
  const base = { settings: { ...defaultSettings(), hkp_port: 11371, hostname: 'keys.example.org' } };
  const s = resolveSettings(base, { hkp_port: 8080, hostname: undefined, recon_address: ['127.0.0.1'] });
  assert.equal(s.hkp_port, 8080);
  assert.equal(s.hostname, 'keys.example.org');
  assert.deepEqual(s.recon_address, ['127.0.0.1']);
  assert.equal(base.settings.hkp_port, 11371, 'the base is not changed');
  assert.deepEqual(resolveSettings(base), base.settings);
});

test('the command line: typed values, and unknown options or missing values as UsageError', () => {
  const opts = { basedir: { type: 'string' }, list: { type: 'boolean' } } as const;
  const { values, positionals } = readArgs(['--basedir', '/x', '--list', 'extra'], opts, { positionals: true });
  assert.equal(values.basedir, '/x');
  assert.equal(values.list, true);
  assert.deepEqual(positionals, ['extra']);
  assert.throws(() => readArgs(['--nope'], opts), UsageError);
  assert.throws(() => readArgs(['--basedir'], opts), UsageError);
  assert.throws(() => readArgs(['stray'], opts), UsageError);
  assert.equal(intArg(undefined, 'workers', 3), 3);
  assert.equal(intArg('12', 'workers', 3), 12);
  assert.throws(() => intArg('-1', 'workers', 3), /--workers must be a whole number, got "-1"/);
});

test('SIGTERM runs the process\'s stop once and exits 0', async () => {
  const dir = makeTempDir('service-signals-');
  const marker = join(dir, 'stopped');
  const script = join(dir, 'child.ts');
  const service = fileURLToPath(new URL('../src/index.ts', import.meta.url));
  writeFileSync(script, `
    import { appendFileSync } from 'node:fs';
    import { stopOnSignals } from ${JSON.stringify(service)};
    stopOnSignals(async () => { appendFileSync(${JSON.stringify(marker)}, 'x'); await new Promise((r) => setTimeout(r, 100)); });
    setInterval(() => undefined, 1000);
    console.log('ready');
  `);
  const child = spawn(process.execPath, ['--import', 'tsx', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  await once(child.stdout!, 'data');
  child.kill('SIGTERM');
  child.kill('SIGINT');
  const [code] = await once(child, 'exit');
  assert.equal(code, 0);
  const { readFileSync } = await import('node:fs');
  assert.equal(readFileSync(marker, 'utf8'), 'x', 'stop ran exactly once');
});
