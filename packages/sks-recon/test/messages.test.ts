// The wire format against bytes two real SKS 1.1.6 servers exchanged (captures/*.bin).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { decodeBody, encodeBody, splitFrames, parseIntString, frame, type ReconMessage } from '../src/messages.js';
import { configPairs } from '../src/session.js';
import { RECON_CAPTURES as CAPTURES } from '../../../test/support/fixtures.js';

const files = readdirSync(CAPTURES).filter((f) => f.endsWith('.bin')).sort();

/** The config check after Config is a bare string, not a message: frame 1 of each direction. */
function framesOf(file: string): { bodies: Buffer[]; messages: ReconMessage[]; verdict: string } {
  const bodies = splitFrames(readFileSync(join(CAPTURES, file)));
  const verdict = bodies[1]!.toString('latin1');
  const messages = bodies.filter((_, i) => i !== 1).map((b) => decodeBody(b));
  return { bodies, messages, verdict };
}

test('every captured message decodes and re-encodes to the same bytes', () => {
  assert.ok(files.length >= 6);
  let total = 0;
  for (const f of files) {
    const stream = readFileSync(join(CAPTURES, f));
    const { bodies, verdict } = framesOf(f);
    assert.equal(verdict, 'passed', f);
    const rebuilt = Buffer.concat(bodies.map((b, i) => frame(i === 1 ? b : encodeBody(decodeBody(b)))));
    assert.ok(rebuilt.equals(stream), `${f} re-encodes byte for byte`);
    total += bodies.length;
  }
  assert.ok(total > 50);
});

test('the captured first-contact session has the shape of the annotated listing', () => {
  const s2c = framesOf('01-A-initiates-to-B-initial-diff54.s2c.bin').messages;
  const c2s = framesOf('01-A-initiates-to-B-initial-diff54.c2s.bin').messages;
  // server->client (the acceptor walks): Config, root Poly, Flush, four depth-1 Polys, Flush, 16 Fulls, Flush, Done
  assert.deepEqual(s2c.map((m) => m.type), [
    'Config', 'ReconRqstPoly', 'Flush', ...Array(4).fill('ReconRqstPoly'), 'Flush', ...Array(16).fill('ReconRqstFull'),
    'Flush', 'Done',
  ]);
  const root = s2c[1] as Extract<ReconMessage, { type: 'ReconRqstPoly' }>;
  assert.equal(root.prefix, '');
  assert.equal(root.size, 1322);
  assert.equal(root.samples.length, 6);
  assert.deepEqual(s2c.slice(3, 7).map((m) => (m as { prefix: string }).prefix), ['00', '01', '10', '11']);
  const full = s2c[8] as Extract<ReconMessage, { type: 'ReconRqstFull' }>;
  assert.equal(full.prefix, '0000');
  assert.equal(full.elements.length, 92);
  // client->server (the initiator answers): Config, 5 SyncFail, 16 Elements holding 54 elements in all
  assert.deepEqual(c2s.map((m) => m.type), ['Config', ...Array(5).fill('SyncFail'), ...Array(16).fill('Elements')]);
  const recovered = c2s.filter((m) => m.type === 'Elements').reduce((n, m) => n + (m as { elements: bigint[] }).elements.length, 0);
  assert.equal(recovered, 54);
  // Digest elements carry a zero 17th byte.
  for (const m of c2s) if (m.type === 'Elements') for (const x of m.elements) assert.ok(x < 1n << 128n);
});

test('our Config matches the bytes SKS sends, apart from the HTTP port', () => {
  const sksConfig = framesOf('02-B-initiates-to-A.c2s.bin').messages[0] as Extract<ReconMessage, { type: 'Config' }>;
  const port = parseIntString(new Map(sksConfig.pairs).get('http port'))!;
  assert.ok(port > 0 && port < 65536);
  const ours = encodeBody({ type: 'Config', pairs: configPairs({
    httpPort: port, filters: 'yminsky.dedup,yminsky.merge', maxRecover: 2000, configTimeoutMs: 1, readTimeoutMs: 1,
  }) });
  assert.ok(ours.equals(splitFrames(readFileSync(join(CAPTURES, '02-B-initiates-to-A.c2s.bin')))[0]!));
});

test('malformed bodies are rejected with a message, never half-decoded', () => {
  assert.throws(() => decodeBody(Buffer.from([42])), /unknown message type 42/);
  assert.throws(() => decodeBody(Buffer.from([2, 0, 0, 0, 5, 1, 2])), /ends inside elements/);
  assert.throws(() => decodeBody(Buffer.from([2, 0xff, 0xff, 0xff, 0xff])), /ends inside elements/);
  assert.throws(() => decodeBody(Buffer.from([5, 0])), /trailing bytes/);
  const outside = Buffer.concat([Buffer.from([2, 0, 0, 0, 1]), Buffer.alloc(17, 0xff)]);
  assert.throws(() => decodeBody(outside), /outside the field/);
});
