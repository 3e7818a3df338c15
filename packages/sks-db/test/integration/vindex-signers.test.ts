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
