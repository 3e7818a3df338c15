// The answer caches of sks-db workers: a value kept from the second miss of its key, bounded in bytes, second chance
// for entries that were hit, whole answers dropped when the database version moves.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AnswerCache, LookupCache } from '../src/answer-cache.js';

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
  for (let i = 9; i < 14; i++) keep(`k${i}`); // five more: the oldest unmarked entries go
  const kept = [...Array(14).keys()].filter((i) => {
    const before = made;
    cache.get(`k${i}`, () => (made++, value(1000)));
    const hit = made === before;
    return hit;
  });
  assert.ok(kept.includes(0) && kept.includes(1), `k0 and k1 were hit and must survive; kept ${kept}`);
  assert.ok(!kept.includes(2), 'k2, the oldest entry never hit, is evicted first');
  assert.ok(cache.size <= 9, `at most 9 entries of 1 000 bytes fit in 10 000 bytes, have ${cache.size}`);
});

test('a value is kept on the second miss of its key: keys asked for once fill nothing', () => {
  const cache = new AnswerCache<Buffer>(1 << 20);
  let made = 0;
  for (let i = 0; i < 5000; i++) cache.get(`once${i}`, () => (made++, value(100)));
  assert.equal(cache.size, 0, 'nothing kept for keys asked for once');
  cache.get('twice', () => (made++, value(100)));
  cache.get('twice', () => (made++, value(100)));
  assert.equal(cache.size, 1);
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
