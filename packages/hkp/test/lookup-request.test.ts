// /pks/lookup requests as GnuPG and browsers send them, read as SKS reads them; and the address in angle
// brackets found in linear time, whatever the term holds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bracketedAddress } from '@sks/keystore';
import { parse as parseQuery } from 'node:querystring';
import { HttpError, classifySearch, gnupgIndexSearch, parseLookup } from '../src/index.js';

test('GnuPG\'s requests parse to the operation, options and search', () => {
  assert.deepEqual(parseLookup({ op: 'get', options: 'mr', search: '0xDEADBEEFDEADBEEF' }), {
    op: 'get', search: '0xDEADBEEFDEADBEEF', mr: true, json: false, fingerprint: false, hash: false, exact: false, limit: -1,
  });
  const r = parseLookup({ op: ['index', 'x-vindex'], search: ' alice ', fingerprint: 'on', exact: 'off', limit: '3' });
  assert.equal(r.op, 'vindex', 'the last value of a repeated parameter wins, as in SKS');
  assert.equal(r.search, 'alice');
  assert.equal(r.fingerprint, true);
  assert.equal(r.limit, 3);
});

test('GnuPG\'s key search term is decoded as querystring.parse decodes it, its quirks included', () => {
  // '+' is skipped when querystring.parse looks for a valid escape ('%+41' counts as one); without one a value is left
  // as sent, and with one it is decoded whole (an invalid escape beside non-Latin-1 text then loses that text)
  const values = ['alice%40example.org', 'a+b', '%2B', '%zz', '% ', 'é%zz', 'é%+41', '%+4+1é', 'ᾀ<%+DEADBEEF', '%C3%A9', '%E9', 'a=b'];
  for (const v of values) {
    const qs = `op=index&options=mr&search=${v}`;
    assert.equal(gnupgIndexSearch(qs), parseQuery(qs).search, v);
  }
  assert.equal(gnupgIndexSearch('search=a&op=index&options=mr'), undefined);
  assert.equal(gnupgIndexSearch('op=index&options=mr&search=a&exact=on'), undefined);
});

test('requests no server could answer are refused with the reason', () => {
  const status = (q: Record<string, unknown>) => {
    try {
      parseLookup(q);
      return 0;
    } catch (e) {
      assert.ok(e instanceof HttpError);
      return e.status;
    }
  };
  assert.equal(status({ search: 'x' }), 400);
  assert.equal(status({ op: 'frobnicate', search: 'x' }), 501);
  assert.equal(status({ op: '', search: 'x' }), 400, 'an empty op is a malformed request, not an unknown operation');
  assert.equal(status({ op: 'get' }), 400);
  assert.equal(status({ op: 'get', search: 'x', limit: 'ten' }), 400);
  assert.equal(status({ op: 'get', search: 'x'.repeat(1001) }), 400);
  assert.equal(status({ op: 'get', search: 'x', fingerprint: 'maybe' }), 400);
  assert.equal(status({ op: 'stats' }), 0);
});

test('search terms are key IDs, fingerprints or text; an address in brackets loses them', () => {
  assert.deepEqual(classifySearch('0xdeadbeef'), { kind: 'keyid', hex: 'DEADBEEF' });
  assert.deepEqual(classifySearch('0x' + 'ab'.repeat(20)), { kind: 'fingerprint', hex: 'AB'.repeat(20) });
  assert.deepEqual(classifySearch('ABCD '.repeat(10).trim()), { kind: 'fingerprint', hex: 'ABCD'.repeat(10) });
  assert.deepEqual(classifySearch('<alice@example.org>'), { kind: 'text', text: 'alice@example.org' });
  assert.deepEqual(classifySearch('Alice <alice@example.org>'), { kind: 'text', text: 'Alice <alice@example.org>' });
  assert.throws(() => classifySearch('0x12345'), /5 hex digits long/);
});

test('bracketedAddress accepts what SKS\'s pattern accepts and nothing else', () => {
  for (const ok of ['<a@b>', '<a@b@c>', '<@a@b>', '<first.last+tag@example.org>']) assert.equal(bracketedAddress(ok), ok.slice(1, -1), ok);
  for (const no of ['<@b>', '<a@>', '<ab>', 'a@b', '<a b@c>', '<a@b', '<<a@b>>', '<>']) assert.equal(bracketedAddress(no), undefined, no);
  // The term that made the old pattern backtrack quadratically: a long run of "a@" with no closing bracket.
  assert.equal(bracketedAddress('<' + 'a@'.repeat(500_000)), undefined);
});
