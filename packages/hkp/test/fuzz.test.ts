// Property-based: any query string and any hashquery body is parsed or refused with a clear error (an HTTP 4xx
// for requests, a format error for answers); nothing else is thrown and no decoder reads past its input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse as parseQuery } from 'node:querystring';
import fc from 'fast-check';
import {
  HashqueryFormatError, HttpError, classifySearch, decodeHashqueryRequest, decodeHashqueryResponse,
  encodeHashqueryResponse, gnupgIndexSearch, mrIndexRequest, parseLookup,
} from '../src/index.js';
import { FUZZ_RUNS } from '../../../test/support/fuzz.js';

const clientError = (e: unknown) => e instanceof HttpError && e.status >= 400 && e.status < 500 || e instanceof HttpError && e.status === 501;

test('lookup query strings: parsed, or refused with 4xx/501 and a message', () => {
  const word = fc.oneof(fc.constantFrom('op', 'search', 'options', 'limit', 'fingerprint', 'exact', 'hash', 'x-exact', 'get', 'index',
    'vindex', 'hget', 'stats', 'mr', 'on', 'off', '0x', '0xDEADBEEF', '<a@b>', '%', '&', '=', '+'), fc.string({ maxLength: 20 }));
  fc.assert(fc.property(fc.array(word, { maxLength: 12 }), (parts) => {
    const query = parseQuery(parts.join(''));
    try {
      const r = parseLookup(query);
      if (r.op !== 'stats') classifySearch(r.search);
    } catch (e) {
      assert.ok(clientError(e), `${(e as Error).stack}`);
      assert.ok((e as Error).message.length > 0);
    }
  }), { numRuns: FUZZ_RUNS });
});

test('GnuPG\'s key search read without parsing the query: the search and request parseLookup makes of it', () => {
  const value = fc.array(fc.oneof(fc.constantFrom('%', '%2B', '+', '%40', '%zz', '%C3%A9', '%E9', ' ', '=', '<', '>', '@', '0x', 'DEADBEEF'),
    fc.string({ maxLength: 8 }), fc.string({ unit: 'grapheme', maxLength: 4 })), { maxLength: 10 }).map((p) => p.join(''));
  fc.assert(fc.property(value, fc.boolean(), (raw, gnupgOrder) => {
    const qs = gnupgOrder ? `op=index&options=mr&search=${raw}` : `search=${raw}&op=index&options=mr`;
    const search = gnupgIndexSearch(qs);
    if (!gnupgOrder || raw.includes('&')) {
      assert.equal(search, undefined);
      return;
    }
    const query = parseQuery(qs);
    assert.equal(search, query.search);
    let general: unknown;
    try {
      general = parseLookup(query);
    } catch (e) {
      assert.ok(e instanceof HttpError);
      general = undefined;
    }
    assert.deepEqual(mrIndexRequest(search!), general);
  }), { numRuns: FUZZ_RUNS });
});

test('hashquery bodies both ways: decoded or refused with a format error, never read past the end', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat({ max: 50 }), (bytes, max) => {
    const body = Buffer.from(bytes);
    try {
      for (const d of decodeHashqueryRequest(body, max)) assert.equal(d.length, 32);
    } catch (e) {
      assert.ok(e instanceof HttpError && (e.status === 400 || e.status === 413), `${(e as Error).stack}`);
    }
    try {
      const keys = decodeHashqueryResponse(body, max);
      let total = 4;
      for (const k of keys) total += 4 + k.length;
      assert.ok(total <= body.length, 'the keys came from inside the body');
      assert.ok(encodeHashqueryResponse(keys).equals(body.subarray(0, total)), 'and encode back to the same bytes');
    } catch (e) {
      assert.ok(e instanceof HashqueryFormatError, `${(e as Error).stack}`);
    }
  }), { numRuns: FUZZ_RUNS * 3 });
});
