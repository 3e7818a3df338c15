// The answer caches of sks-db workers: bounded in bytes, second chance for entries that were hit, whole answers
// dropped when the database version moves.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AnswerCache, LookupCache } from '../src/answer-cache.js';

const value = (n: number) => Buffer.alloc(n, 1);

test('the cache stays within its byte budget and keeps entries that were hit over those that were not', () => {
  const cache = new AnswerCache<Buffer>(10_000);
  let made = 0;
  const get = (k: string) => cache.get(k, () => (made++, value(1000)));
  for (let i = 0; i < 9; i++) get(`k${i}`); // 9 000 bytes plus keys
  get('k0');
  get('k1'); // hits: k0 and k1 are marked
  assert.equal(made, 9);
  for (let i = 9; i < 14; i++) get(`k${i}`); // five more: the oldest unmarked entries go
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
  cache.sync(1);
  cache.get('q', () => (made++, value(10)));
  assert.equal(made, 1);
  cache.sync(2);
  cache.get('q', () => (made++, value(10)));
  assert.equal(made, 2);
});
