// The /pks/hashquery codec both ways, on bytes written by hand from the format (recon SPEC §5), and on bodies that
// lie about their counts and lengths: every one gets a clear error, none makes the decoder read past the body.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  HashqueryFormatError, HttpError, decodeHashqueryRequest, decodeHashqueryResponse, encodeHashqueryRequest,
  encodeHashqueryResponse,
} from '../src/index.js';

const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};

test('a request is a count and 16-byte strings; decoding gives the digests back in hex', () => {
  const ds = [randomBytes(16), randomBytes(16)];
  const body = encodeHashqueryRequest(ds);
  assert.deepEqual(body, Buffer.concat([u32(2), u32(16), ds[0]!, u32(16), ds[1]!]));
  assert.deepEqual(decodeHashqueryRequest(body, 10), ds.map((d) => d.toString('hex')));
  assert.throws(() => encodeHashqueryRequest([randomBytes(15)]), TypeError);
});

test('malformed requests are 400, too many digests 413, each saying what is wrong', () => {
  const d = randomBytes(16);
  const cases: Array<[Buffer, number, RegExp]> = [
    [Buffer.from([0, 0]), 400, /shorter than its 4-byte count/],
    [Buffer.concat([u32(2), u32(16), d]), 400, /ends inside digest 2 of 2/],
    [Buffer.concat([u32(1), u32(15), d.subarray(0, 15)]), 400, /digest 1 is 15 bytes long/],
    [Buffer.concat([u32(1), u32(16), d.subarray(0, 8)]), 400, /ends inside digest 1 of 1/],
    [Buffer.concat([u32(1), u32(16), d, Buffer.from('xx')]), 400, /2 bytes after the last digest/],
    [Buffer.concat([u32(0xffffffff)]), 413, /at most 10 per request \(max_hashquery_keys\)/],
  ];
  for (const [body, status, message] of cases) {
    assert.throws(() => decodeHashqueryRequest(body, 10), (e: unknown) => e instanceof HttpError && e.status === status && message.test(e.message),
      `${body.toString('hex')} → ${status} ${message}`);
  }
});

test('a response carries whole keys; SKS\'s trailing CRLF is ignored', () => {
  const keys = [randomBytes(300), randomBytes(1)];
  const body = encodeHashqueryResponse(keys);
  assert.deepEqual(body, Buffer.concat([u32(2), u32(300), keys[0]!, u32(1), keys[1]!]));
  assert.deepEqual(decodeHashqueryResponse(Buffer.concat([body, Buffer.from('\r\n')])), keys);
  assert.deepEqual(decodeHashqueryResponse(u32(0)), []);
});

test('a response that lies about its counts or lengths is refused before anything is read past it', () => {
  const cases: Array<[Buffer, RegExp, number?]> = [
    [Buffer.from([0]), /has no key count/],
    [u32(0xffffffff), /claims 4294967295 keys in 4 bytes/],
    [Buffer.concat([u32(3), u32(1), Buffer.from('a')]), /claims 3 keys in 9 bytes/],
    [Buffer.concat([u32(1), u32(0xfffffff0), Buffer.from('abcd')]), /ends inside key 1 of 1/],
    [Buffer.concat([u32(2), u32(1), Buffer.from('a'), u32(5), Buffer.from('abc')]), /ends inside key 2 of 2/],
    [Buffer.concat([u32(5), Buffer.alloc(40)]), /claims 5 keys; at most 2 were asked for/, 2],
  ];
  for (const [body, message, max] of cases) {
    assert.throws(() => decodeHashqueryResponse(body, max), (e: unknown) => e instanceof HashqueryFormatError && message.test(e.message),
      `${body.toString('hex').slice(0, 40)} → ${message}`);
  }
});
