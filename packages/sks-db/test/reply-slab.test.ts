// The lookup front's small replies, kept outside the heap (reply-slab.ts): exact bytes back for exactly the key
// asked, the AnswerCache policy (second miss, frequency against the oldest record, second chance for hit records),
// a log that wraps within its budget, and everything forgotten when the database version moves.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ReplySlab } from '../src/reply-slab.js';

/** A reply whose bytes say which key and version they belong to. */
function reply(key: string, bodyBytes: number, version = 0): { head: Buffer; body: Buffer[] } {
  const head = Buffer.from(`HTTP/1.1 200 OK\r\nX-Key: ${key}\r\nContent-Length: ${bodyBytes + 2}\r\n`, 'latin1');
  const body = Buffer.alloc(bodyBytes, `${key}/${version};`);
  return { head, body: [body, Buffer.from('\r\n')] };
}

/** Asks for `key` as the front does: a hit, or a miss and an offer of the computed reply. */
function ask(slab: ReplySlab, key: string, bodyBytes: number, version = 0): 'hit' | 'miss' {
  const hit = slab.get(key);
  const want = reply(key, bodyBytes, version);
  if (hit) {
    assert.deepEqual(hit.head, want.head, `the head kept for ${key}`);
    assert.deepEqual(hit.body, Buffer.concat(want.body), `the body kept for ${key}`);
    assert.equal(hit.status, 200);
    assert.equal(hit.route, 'lookup_get');
    return 'hit';
  }
  slab.offer(key, 200, 'lookup_get', want.head, want.body);
  return 'miss';
}

test('a reply is kept from the second miss of its key and comes back byte for byte, for that key only', () => {
  const slab = new ReplySlab(1 << 20);
  assert.equal(ask(slab, '/a', 3000), 'miss');
  assert.equal(slab.size, 0, 'the first miss is only remembered');
  assert.equal(ask(slab, '/a', 3000), 'miss');
  assert.equal(slab.size, 1);
  assert.equal(ask(slab, '/a', 3000), 'hit');
  // same length, same hash bucket or not: another key never gets /a's bytes
  assert.equal(slab.get('/b'), undefined);
  assert.equal(slab.get('/a '), undefined);
  assert.equal(slab.get('/A'), undefined);
  const other = new ReplySlab(1 << 20);
  for (const k of ['op=get&search=0x01', 'op=get&search=0x10']) (ask(other, k, 100), ask(other, k, 100));
  assert.equal(ask(other, 'op=get&search=0x01', 100), 'hit');
  assert.equal(ask(other, 'op=get&search=0x10', 100), 'hit');
});

test('the log wraps within its budget; every reply it still holds is intact, and hit records outlive the others', () => {
  const budget = 256 * 1024;
  const slab = new ReplySlab(budget);
  // records of varied sizes (a few hundred bytes to 9 KB), many more than fit: the log wraps many times
  const size = (i: number) => 200 + ((i * 7919) % 9000);
  const hot = ['hot0', 'hot1', 'hot2'];
  for (let i = 0; i < 3000; i++) {
    const k = `k${i}`;
    ask(slab, k, size(i));
    ask(slab, k, size(i));
    ask(slab, k, size(i)); // asked three times: as often as what it replaces, or more
    for (const h of hot) ask(slab, h, 500);
  }
  let held = 0;
  let bytes = 0;
  for (let i = 0; i < 3000; i++) {
    if (ask(slab, `k${i}`, size(i)) === 'hit') (held++, (bytes += size(i)));
  }
  assert.ok(held > 10, `the log holds many records (${held})`);
  assert.ok(bytes <= budget, `the bodies held (${bytes} bytes) fit in the budget (${budget})`);
  for (const h of hot) assert.equal(ask(slab, h, 500), 'hit', `${h}, hit all along, is still kept`);
});

test('a full log does not trade its records for keys asked for no more often, but for a hot one', () => {
  const slab = new ReplySlab(128 * 1024);
  for (let i = 0; i < 200; i++) (ask(slab, `old${i}`, 1000), ask(slab, `old${i}`, 1000));
  const oldKept = () => [...Array(200).keys()].filter((i) => slab.get(`old${i}`) !== undefined).length;
  const before = oldKept();
  assert.ok(before > 50 && before < 200, `the log is full (${before} of 200 kept)`);
  for (let i = 0; i < 1000; i++) (ask(slab, `new${i}`, 1000), ask(slab, `new${i}`, 1000));
  assert.ok(oldKept() >= before * 0.8, `most old records stay (${oldKept()} of ${before})`);
  for (let n = 0; n < 8; n++) ask(slab, 'hot', 1000);
  assert.ok(slab.get('hot') !== undefined, 'the hot key is kept');
});

test('everything is forgotten when the database version moves, and kept while it stays', () => {
  const slab = new ReplySlab(1 << 20);
  slab.sync(1);
  for (let i = 0; i < 50; i++) (ask(slab, `k${i}`, 500, 1), ask(slab, `k${i}`, 500, 1));
  slab.sync(1);
  assert.equal(slab.size, 50);
  assert.equal(ask(slab, 'k7', 500, 1), 'hit');
  slab.sync(2);
  assert.equal(slab.size, 0);
  for (let i = 0; i < 50; i++) assert.equal(slab.get(`k${i}`), undefined, `k${i} is gone after the version moved`);
  // and the new version's replies are kept and served as before
  (ask(slab, 'k7', 500, 2), ask(slab, 'k7', 500, 2));
  assert.equal(ask(slab, 'k7', 500, 2), 'hit');
});

test('a reply larger than a quarter of the budget, or with a very long key, is not kept; a budget of 0 keeps nothing', () => {
  const slab = new ReplySlab(64 * 1024);
  for (let n = 0; n < 3; n++) assert.equal(ask(slab, 'big', 17 * 1024), 'miss');
  const long = `x${'y'.repeat(5000)}`;
  for (let n = 0; n < 3; n++) assert.equal(ask(slab, long, 100), 'miss');
  const none = new ReplySlab(0);
  for (let n = 0; n < 3; n++) assert.equal(ask(none, 'k', 100), 'miss');
  assert.equal(none.size, 0);
});

test('with as many tiny records as its index takes, every record it holds is found: evictions keep probe runs whole', () => {
  // 64 KiB: an index of 1 024 slots for at most 512 records; records of ~90 bytes reach that limit first, so the
  // index is half full and admissions delete slots from the middle of probe runs
  const slab = new ReplySlab(64 * 1024);
  for (let i = 0; i < 5000; i++) for (let n = 0; n < 2 + (i % 3); n++) ask(slab, `q${i}`, 8);
  assert.ok(slab.size > 400 && slab.size <= 512, `the index holds ${slab.size} records`);
  const found = [...Array(5000).keys()].filter((i) => slab.get(`q${i}`) !== undefined).length;
  assert.equal(found, slab.size, 'every record held is found by its key');
  assert.ok([...Array(5000).keys()].some((i) => i > 4900 && slab.get(`q${i}`) !== undefined), 'new keys still get in');
});

test('a budget past what 32-bit offsets address is capped: the log still keeps and finds replies', () => {
  const slab = new ReplySlab(8 * 2 ** 30); // 8 GiB asked; the log is capped at 1 GiB (allocated at the first keep)
  (ask(slab, 'k', 100), ask(slab, 'k', 100));
  assert.equal(ask(slab, 'k', 100), 'hit');
});
