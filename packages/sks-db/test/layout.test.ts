// The site's layout and the readable key list, without a server: the static home page carries the same header and
// footer as every generated page, error pages keep SKS's <h1> and say what to do, the key list never starts a line
// the way SKS's listing does (scripts that scrape the <pre> count those lines), the stats chart has its text.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import { KeyStore, keyFacts } from '@sks/keystore';
import { makeTempDir } from '../../../test/support/tmp.js';
import { errorPage, htmlQuote, page, siteFooter, siteHeader } from '../src/layout.js';
import { algorithmName, fingerprintInFours, keyCards } from '../src/key-cards.js';
import { dailyAdditionsChart } from '../src/stats-chart.js';
import { builtinWebDir } from '../src/web-pages.js';

test('the static home page has the same header and footer as every generated page', () => {
  const home = readFileSync(join(builtinWebDir(), 'index.html'), 'utf8');
  assert.ok(home.includes(siteHeader()), 'header of layout.ts');
  assert.ok(home.includes(siteFooter()), 'footer of layout.ts');
  assert.match(home, /<html lang="en">/);
  assert.match(home, /<main id="main">/);
});

test('a page: language, viewport, our stylesheet only, no script, the search kept in the box', () => {
  const html = page('Search results for \'a&amp;b\'', '<p>x</p>', { search: 'a&b "c"' });
  assert.match(html, /^<!DOCTYPE html>\n<html lang="en">/);
  assert.match(html, /<meta name="viewport" content="width=device-width, initial-scale=1" \/>/);
  assert.deepEqual([...html.matchAll(/(?:href|src)="(https?:[^"]*|\/[^"]*\.css)"/g)].map((m) => m[1]), ['/style.css']);
  assert.ok(!/<script/i.test(html));
  assert.match(html, /<input type="search" id="site-search" name="search"[^>]* value="a&amp;b &quot;c&quot;" \/>/);
  assert.match(html, /<title>Search results for 'a&amp;b' - OpenPGP Keyserver<\/title>/);
  // SKS's two-line title (stats) becomes one line in <title>
  assert.match(page('Statistics<br />Taken at now', ''), /<title>Statistics \| Taken at now - OpenPGP Keyserver<\/title>/);
});

test('error pages keep the title as <h1>, quote the message and say what to do', () => {
  const html = errorPage(404, 'No results found', 'No keys found for <script>');
  assert.match(html, /<h1>No results found<\/h1>/);
  assert.match(html, /No results found: No keys found for &lt;script&gt;/);
  assert.match(html, /Check the spelling/);
  assert.match(errorPage(413, 'Too many responses', 'x'), /more specific/);
  assert.match(errorPage(413, 'Request Entity Too Large', 'x'), /larger than this server accepts/);
  assert.match(errorPage(429, 'Too many requests', 'x'), /Wait a minute/);
  assert.match(errorPage(503, 'Service unavailable', 'x'), /try again in a few minutes/);
});

test('HTML quoting: the characters SKS escapes, at either end and side by side; other text as it was', () => {
  assert.equal(htmlQuote('<a href="x">&\'/</a>'), '&lt;a href=&quot;x&quot;&gt;&amp;&#x27;&#x2F;&lt;&#x2F;a&gt;');
  assert.equal(htmlQuote('Alice Example <alice@example.org>'), 'Alice Example &lt;alice@example.org&gt;');
  assert.equal(htmlQuote('<<>>'), '&lt;&lt;&gt;&gt;');
  assert.equal(htmlQuote('Jörg Ünicode (kein Sonderzeichen)'), 'Jörg Ünicode (kein Sonderzeichen)');
  assert.equal(htmlQuote(''), '');
});

test('fingerprints in groups of four; algorithms by name', () => {
  assert.equal(fingerprintInFours('9BAC47418E6E1BABA999891EDB04D7EB570B43D2'), '9BAC 4741 8E6E 1BAB A999 891E DB04 D7EB 570B 43D2');
  assert.equal(algorithmName(1, 4096), 'RSA, 4096 bits');
  assert.equal(algorithmName(22, 255), 'Ed25519');
  assert.equal(algorithmName(27, 256), 'Ed25519');
});

test('the key list: name, fingerprint, user IDs, download and GnuPG line; no line SKS\'s scrapers would count', async () => {
  const { publicKey } = await openpgp.generateKey({
    type: 'ecc', curve: 'ed25519Legacy', format: 'armored',
    userIDs: [{ name: 'pub sig <uid@example.org>' }, { name: 'Second', email: 'second@example.org' }],
  });
  const fp = (await openpgp.readKey({ armoredKey: publicKey })).getFingerprint().toUpperCase();
  const store = KeyStore.open(join(makeTempDir('layout-'), 'keys.sqlite'));
  try {
    store.upsertMaterial(publicKey, 'load');
    const html = keyCards([keyFacts(store.getByFingerprint(fp)!.info)]);
    assert.match(html, new RegExp(`<code class="fpr">${fingerprintInFours(fp)}</code>`));
    assert.match(html, new RegExp(`href="/vks/v1/by-fingerprint/${fp}" download="${fp}.asc"`));
    assert.match(html, new RegExp(`<code class="cmd">gpg --recv-keys ${fp}</code>`));
    assert.match(html, /<li>Second &lt;second@example.org&gt;<\/li>/);
    const text = html.replace(/<[^>]+>/g, '').split(/\r?\n/);
    assert.deepEqual(text.filter((l) => /^(pub|sub|sig|uid|uat) /.test(l)), [], 'no line of the list reads as a line of SKS\'s listing');
  } finally {
    store.close();
  }
});

test('the chart of daily additions: a bar per day, the figures in its text alternative', () => {
  const day = 86400;
  const days = Array.from({ length: 7 }, (_, i) => ({ start: 20_000 * day + i * day, added: i === 6 ? 12 : i, updated: 0 }));
  const svg = dailyAdditionsChart(days);
  assert.equal((svg.match(/<rect class="bar"/g) ?? []).length, 7);
  assert.match(svg, /role="img" aria-labelledby="chart-title chart-desc"/);
  assert.match(svg, /<desc id="chart-desc">27 keys added in all\. 2024-10-04: 0, 2024-10-05: 1, .* 2024-10-10: 12\.<\/desc>/);
  const heights = [...svg.matchAll(/<rect class="bar"[^>]* height="(\d+)"/g)].map((m) => Number(m[1]));
  assert.equal(heights[0], 0);
  assert.equal(Math.max(...heights), heights[6]);
});
