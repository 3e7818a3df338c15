// Property-based: any recon message body, random or a real message with bytes changed, decodes or is refused
// with a ProtocolError; nothing else is thrown.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ProtocolError, decodeBody, encodeBody, type ReconMessage } from '../src/messages.js';
import { FUZZ_RUNS, mutate, type Mutation } from '../../../test/support/fuzz.js';

const real: ReconMessage[] = [
  { type: 'ReconRqstPoly', prefix: '0110', size: 200, samples: [1n, 2n, 3n, 4n, 5n, 6n] },
  { type: 'ReconRqstFull', prefix: '01', elements: [7n, 8n, 9n] },
  { type: 'Elements', elements: [10n, 11n] },
  { type: 'FullElements', elements: [12n] },
  { type: 'SyncFail' }, { type: 'Done' }, { type: 'Flush' }, { type: 'Error', text: 'why' },
  { type: 'Config', pairs: [['version', '1.1.6'], ['http port', '11371']] },
];

function check(body: Buffer): void {
  try {
    decodeBody(body);
  } catch (e) {
    assert.ok(e instanceof ProtocolError, `${(e as Error).stack}`);
  }
}

test('random message bodies: decoded or a ProtocolError', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (b) => check(Buffer.from(b))), { numRuns: FUZZ_RUNS * 3 });
});

test('real messages with bytes changed: decoded or a ProtocolError', () => {
  const mutation = fc.record<Mutation>({
    kind: fc.constantFrom('flip', 'truncate', 'insert', 'repeat', 'zero'), at: fc.nat(), len: fc.nat(), value: fc.nat(),
  });
  fc.assert(fc.property(fc.constantFrom(...real), fc.array(mutation, { minLength: 1, maxLength: 3 }), (msg, ms) => {
    let body = encodeBody(msg);
    for (const m of ms) body = mutate(body, m);
    check(body);
  }), { numRuns: FUZZ_RUNS * 3 });
});
