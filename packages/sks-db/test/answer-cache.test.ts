// The answer caches of sks-db workers: a value kept from the second miss of its key, and in a full cache only if asked
// for more often than what it would evict; bounded in bytes, second chance for entries that were hit, whole answers
// dropped when the database version moves.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AnswerCache, LookupCache, ownBuffer } from '../src/answer-cache.js';

const value = (n: number) => Buffer.alloc(n, 1);

test('the cache stays within its byte budget and keeps entries that were hit over those that were not', () => {
  const cache = new AnswerCache<Buffer>(10_000);
  let made = 0;
  const get = (k: string) => cache.get(k, () => (made++, value(1000)));
  const keep = (k: string) => (get(k), get(k)); // kept on the second miss
  for (let i = 0; i < 9; i++) keep(`k${i}`); // 9 000 bytes plus keys
  assert.equal(made, 18);
  get('k0');
  get('k1'); // hits: k0 and k1 are marked
  assert.equal(made, 18);
  // five newcomers, each asked for three times: more often than the unmarked entries, so they get in
  for (let i = 9; i < 14; i++) (keep(`k${i}`), get(`k${i}`));
  const kept = [...Array(14).keys()].filter((i) => cache.has(`k${i}`));
  assert.ok(kept.includes(0) && kept.includes(1), `k0 and k1 were hit and must survive; kept ${kept}`);
  assert.ok(!kept.includes(2), `k2, the oldest entry never hit, is evicted first; kept ${kept}`);
  assert.ok([9, 10, 11, 12, 13].every((i) => kept.includes(i)), `the newcomers are kept; kept ${kept}`);
  assert.ok(cache.size <= 9, `at most 9 entries of 1 000 bytes fit in 10 000 bytes, have ${cache.size}`);
});

test('a full cache does not trade its entries for keys asked for no more often (random traffic), but for a hot one', () => {
  const cache = new AnswerCache<Buffer>(100_000);
  const get = (k: string) => cache.get(k, () => value(1000));
  for (let i = 0; i < 99; i++) (get(`old${i}`), get(`old${i}`)); // full: 99 entries of 1 000 bytes and their keys
  const before = cache.size;
  const oldKept = () => [...Array(99).keys()].filter((i) => cache.has(`old${i}`)).length;
  // a stream of keys, each asked for twice (as often as every entry kept): hardly anything is traded (the counts
  // are approximate: a few newcomers read as asked for more often). 1 500 keys: fewer asks than the counts take
  // before they are halved, 4 096 for this budget. Admitting on the second miss alone traded every entry.
  for (let i = 0; i < 1500; i++) (get(`new${i}`), get(`new${i}`));
  assert.equal(cache.size, before);
  assert.ok(oldKept() >= before * 0.9, `nearly every old entry is still kept (${oldKept()} of ${before})`);
  // a key asked for again and again gets in
  for (let n = 0; n < 4; n++) get('hot');
  assert.ok(cache.has('hot'), 'the hot key is kept');
  assert.ok(cache.size <= 99);
  // counts fade: once they were halved, keys asked for twice since outweigh entries nobody asked for since
  for (let i = 0; i < 3000; i++) (get(`later${i}`), get(`later${i}`));
  assert.ok(oldKept() < before / 2, `most old entries made room (${oldKept()} of ${before} left)`);
});

test('an entry asked for often long ago does not shut newcomers out: a refused newcomer is weighed against the next entry', () => {
  const cache = new AnswerCache<Buffer>(100_000);
  const get = (k: string) => cache.get(k, () => value(1000));
  const kept = (prefix: string, n: number) => [...Array(n).keys()].filter((i) => cache.has(`${prefix}${i}`)).length;
  for (let i = 0; i < 5; i++) for (let n = 0; n < 40; n++) get(`formerlyHot${i}`);
  for (let i = 0; i < 94; i++) for (let n = 0; n < 3; n++) get(`warm${i}`); // full: 99 entries, all hit
  assert.equal(cache.size, 99);
  // The hand clears the marks of the hit entries and comes round to the first formerly hot one, unmarked now and
  // counted 40 times: no newcomer outweighs it. Newcomers asked for 5 times each (fewer asks in all than the counts
  // take before they are halved) must still replace the entries asked for 3 times.
  for (let i = 0; i < 100; i++) for (let n = 0; n < 5; n++) get(`new${i}`);
  assert.ok(kept('new', 100) >= 50, `most newcomers are kept (${kept('new', 100)} of 100)`);
  assert.equal(kept('formerlyHot', 5), 5, 'the entries asked for more often than any newcomer stay');
});

test('a value is kept on the second miss of its key: keys asked for once fill nothing', () => {
  const cache = new AnswerCache<Buffer>(1 << 20);
  let made = 0;
  for (let i = 0; i < 5000; i++) cache.get(`once${i}`, () => (made++, value(100)));
  // the doorkeeper is a Bloom filter: a few new keys read as seen (about 0.5% when it is full), no more
  const falselyKept = cache.size;
  assert.ok(falselyKept <= 25, `hardly anything kept for keys asked for once (${falselyKept} of 5000)`);
  cache.get('twice', () => (made++, value(100)));
  cache.get('twice', () => (made++, value(100)));
  assert.equal(cache.size, falselyKept + 1);
  cache.get('twice', () => (made++, value(100)));
  assert.equal(made, 5002, 'the third ask is a hit');
  // the doorkeeper is bounded: emptied when full (1024 keys for this budget), so an old first miss is forgotten
  cache.get('early', () => value(100));
  for (let i = 0; i < 2000; i++) cache.get(`filler${i}`, () => value(100));
  cache.get('early', () => value(100));
  assert.ok(!cache.has('early'), 'its first miss was forgotten: this was a first miss again');
});

test('an entry larger than a quarter of the budget is computed but not kept', () => {
  const cache = new AnswerCache<Buffer>(4000);
  let made = 0;
  cache.get('big', () => (made++, value(1500)));
  cache.get('big', () => (made++, value(1500)));
  assert.equal(made, 2);
  assert.equal(cache.size, 0);
});

test('whole answers are dropped when the database version moves, and kept while it stays', () => {
  const cache = new LookupCache<Buffer>(10_000);
  let made = 0;
  cache.sync(1);
  cache.get('q', () => (made++, value(10)));
  cache.get('q', () => (made++, value(10))); // kept from here
  cache.sync(1);
  cache.get('q', () => (made++, value(10)));
  assert.equal(made, 2);
  cache.sync(2);
  cache.get('q', () => (made++, value(10)));
  assert.equal(made, 3);
});

test('a kept buffer holds only its own bytes, not one of the shared slabs node carves small buffers from', () => {
  const small = Buffer.from('x'.repeat(3000)); // under 4 KiB: a slice of an 8 KiB slab
  assert.ok(small.buffer.byteLength > small.length, 'node pools buffers this small (the premise)');
  const cache = new AnswerCache<Buffer>(1 << 20);
  cache.get('k', () => small);
  const kept = cache.get('k', () => small); // the second miss keeps it
  assert.ok(cache.has('k'));
  assert.equal(kept.buffer.byteLength, kept.length, 'the kept copy owns exactly its bytes');
  assert.ok(kept.equals(small));
  assert.equal(cache.get('k', () => Buffer.alloc(0)), kept, 'and is what hits return');
  const big = Buffer.allocUnsafeSlow(5000);
  assert.equal(ownBuffer(big), big, 'a buffer of its own is not copied');
});
