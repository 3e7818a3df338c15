// vindex names every certifier the server holds, as SKS does (its max_uid_fetches), not only the first hundred.
// Which certifiers the server holds is read from GnuPG's listing of the same keyring, not from the server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEBIAN_KEYRING } from '../../../../test/support/keyrings.js';
import { fixturePath } from '../../../../test/support/fixtures.js';
import { startOurs } from './helpers.js';

interface Listed { keyId: string; subkeys: Array<{ keyId: string }> }

test('a key certified by more than a hundred keys of the store shows every certifier\'s name', async () => {
  const listing = JSON.parse(readFileSync(join(fixturePath('gnupg'), 'debian-keyring-listing.json'), 'utf8')) as { keys: Listed[] };
  const held = new Set(listing.keys.flatMap((k) => [k.keyId, ...k.subkeys.map((s) => s.keyId)]));
  const ours = await startOurs({ keyFiles: [DEBIAN_KEYRING] });
  try {
    let best = { keyId: '', named: 0, unnamed: 0 };
    for (const k of listing.keys) {
      const html = await (await fetch(`${ours.url}/pks/lookup?op=vindex&search=0x${k.keyId}`)).text();
      // distinct certifiers the store holds, and whether the page names each
      const seen = new Map<string, boolean>();
      for (const line of html.split(/\r?\n/).filter((l) => l.startsWith('sig '))) {
        const issuer = /op=get[^"]*search=0x([0-9A-F]{16})"/.exec(line)?.[1];
        if (!issuer || issuer === k.keyId || !held.has(issuer)) continue;
        seen.set(issuer, (seen.get(issuer) ?? true) && !/>\[\]<\/a>$/.test(line));
      }
      const named = [...seen.values()].filter(Boolean).length;
      const unnamed = seen.size - named;
      if (named + unnamed > best.named + best.unnamed) best = { keyId: k.keyId, named, unnamed };
    }
    assert.ok(best.named + best.unnamed > 100, `a key certified by over 100 distinct held keys: ${JSON.stringify(best)}`);
    assert.equal(best.unnamed, 0, `every held certifier is named on 0x${best.keyId}: ${JSON.stringify(best)}`);
  } finally {
    await ours.stop();
  }
});

test('vindex_max_signer_lookups bounds the names looked up per page: the first certifiers in listing order get theirs', async () => {
  const listing = JSON.parse(readFileSync(join(fixturePath('gnupg'), 'debian-keyring-listing.json'), 'utf8')) as { keys: Listed[] };
  const held = new Set(listing.keys.flatMap((k) => [k.keyId, ...k.subkeys.map((s) => s.keyId)]));
  const budget = 10;
  const ours = await startOurs({ keyFiles: [DEBIAN_KEYRING], settings: { vindex_max_signer_lookups: budget } });
  try {
    let checked = 0;
    for (const k of listing.keys) {
      const html = await (await fetch(`${ours.url}/pks/lookup?op=vindex&search=0x${k.keyId}`)).text();
      const sigs = html.split(/\r?\n/).filter((l) => l.startsWith('sig '))
        .map((line) => ({ issuer: /op=get[^"]*search=0x([0-9A-F]{16})"/.exec(line)?.[1], named: !/>\[\]<\/a>$/.test(line) }))
        .filter((s): s is { issuer: string; named: boolean } => s.issuer !== undefined && s.issuer !== k.keyId);
      const order = [...new Set(sigs.map((s) => s.issuer))];
      if (order.length <= 2 * budget) continue;
      // every lookup counts, a certifier the store does not hold too: the first `budget` distinct ones are asked for
      const asked = new Set(order.slice(0, budget));
      for (const s of sigs) {
        if (!asked.has(s.issuer)) assert.equal(s.named, false, `0x${k.keyId}: ${s.issuer} named beyond the budget`);
        else if (held.has(s.issuer)) assert.equal(s.named, true, `0x${k.keyId}: ${s.issuer} is within the budget and held`);
      }
      assert.ok(sigs.some((s) => asked.has(s.issuer) && s.named), `0x${k.keyId}: nobody named`);
      if (++checked === 5) break;
    }
    assert.equal(checked, 5, 'keys with more than twice the budget of certifiers');
  } finally {
    await ours.stop();
  }
});
