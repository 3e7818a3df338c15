// The web pages in headless Chromium (Debian's, driven by playwright-core): every page at 1200 and 360 px in the
// site's one layout without sideways scrolling and without serious accessibility faults (axe-core); a person's way
// through them (publish with the form, search, results, key, download, back); the stats chart. Screenshots of every
// page go to test-artifacts/web-ui/ at the repository root (git-ignored).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import * as openpgp from 'openpgp';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { errorPage } from '../../src/layout.js';
import { startOurs, type Ours } from './helpers.js';

const ARTIFACTS = fileURLToPath(new URL('../../../../test-artifacts/web-ui/', import.meta.url));
const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const WIDTHS = [1200, 360];

let ours: Ours;
let browser: Browser;
let context: BrowserContext;
let page: Page;
/** Keys made here: two loaded before the server starts, one published through the form. */
const keys: Array<{ uid: string; armored: string; fp: string }> = [];

async function makeKey(name: string, email: string): Promise<{ uid: string; armored: string; fp: string }> {
  const { publicKey } = await openpgp.generateKey({ type: 'ecc', curve: 'ed25519Legacy', userIDs: [{ name, email }], format: 'armored' });
  const fp = (await openpgp.readKey({ armoredKey: publicKey })).getFingerprint().toUpperCase();
  return { uid: `${name} <${email}>`, armored: publicKey, fp };
}

const fours = (fp: string) => fp.match(/.{4}/g)!.join(' ');

before(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  keys.push(await makeKey('Web Person', 'web.person@example.org'), await makeKey('Other Person', 'other.person@example.org'),
    await makeKey('Form Uploader', 'form.uploader@example.net'));
  ours = await startOurs({
    keys: [keys[0]!.armored, keys[1]!.armored],
    // two keys at most per listing, so a search for "example" (three keys) is refused as too many
    settings: { max_index_results: 2, max_get_results: 2 },
    membership: 'peer.one.example 11370\npeer.two.example 11370\n',
  });
  // playwright gives the browser its own throwaway profile.
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  context = await browser.newContext({ acceptDownloads: true });
  page = await context.newPage();
});

after(async () => {
  await browser?.close();
  await ours?.stop();
});

/** Serious and critical axe-core findings on the page as it is now. */
async function axeViolations(p: Page): Promise<string[]> {
  const tag = await p.addScriptTag({ content: AXE_SOURCE });
  await tag.evaluate((e) => (e as Element).setAttribute('data-test', 'axe'));
  const found = await p.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run(ctx: unknown, o: unknown): Promise<{ violations: Array<{ id: string; impact: string; nodes: Array<{ target: unknown }> }> }> } }).axe;
    const r = await axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, where: JSON.stringify(v.nodes.slice(0, 3).map((n) => n.target)) }));
  });
  return found.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id} (${v.impact}) at ${v.where}`);
}

/** Checks the layout every page shares, the width, accessibility; writes the screenshot. */
async function checkPage(name: string, width: number): Promise<void> {
  // the site's one layout: skip link first, the site name leading home, the search box, one <h1>, a footer
  assert.equal(await page.getAttribute('html', 'lang'), 'en', `${name}: lang`);
  assert.equal(await page.locator('a.skip').first().getAttribute('href'), '#main', `${name}: skip link`);
  assert.equal(await page.locator('header a.site-name').getAttribute('href'), '/', `${name}: link home`);
  assert.equal(await page.locator('header form[role="search"] label[for="site-search"]').count(), 1, `${name}: labelled search box`);
  assert.ok(await page.locator('#site-search').isVisible(), `${name}: search box visible`);
  assert.equal(await page.locator('main#main h1').count(), 1, `${name}: one h1 in main`);
  assert.ok(await page.locator('footer.site-footer a[href="/"]').isVisible(), `${name}: footer link home`);
  assert.equal(await page.locator('script:not([data-test="axe"])').count(), 0, `${name}: no script`);
  // the stylesheet is ours and applied (the header is not the browser's default)
  assert.notEqual(await page.locator('header.site-header').evaluate((e) => getComputedStyle(e).backgroundColor), 'rgba(0, 0, 0, 0)');
  const { scroll, client } = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth }));
  assert.ok(scroll <= client, `${name} at ${width} px scrolls sideways: ${scroll} > ${client}`);
  await page.screenshot({ path: join(ARTIFACTS, `${name}-${width}.png`), fullPage: true });
  assert.deepEqual(await axeViolations(page), [], `${name} at ${width} px: axe-core`);
}

test('publish a key through the form: the result page says it was inserted, in the site\'s layout', async () => {
  await page.setViewportSize({ width: 1200, height: 900 });
  await page.goto(`${ours.url}/`);
  await page.fill('#keytext', keys[2]!.armored);
  await Promise.all([page.waitForNavigation(), page.click('#add-button')]);
  const body = (await page.textContent('main')) ?? '';
  assert.match(body, /inserted: 1/);
  assert.match(body, new RegExp(keys[2]!.fp));
  await checkPage('added', 1200);
  await page.setViewportSize({ width: 360, height: 800 });
  await checkPage('added', 360);
  // from there to the key just published
  await Promise.all([page.waitForNavigation(), page.click('main a:has-text("View the key")')]);
  assert.equal(await page.locator('ol.keys code.fpr').textContent(), fours(keys[2]!.fp));
  // the key is found at once
  const res = await fetch(`${ours.url}/pks/lookup?op=get&options=mr&search=0x${keys[2]!.fp}`);
  assert.equal(res.status, 200);
  assert.equal((await openpgp.readKey({ armoredKey: await res.text() })).getFingerprint().toUpperCase(), keys[2]!.fp);
});

test('search, results, key, download, back: the file downloaded is the key, its name the fingerprint', async () => {
  const [web] = keys;
  await page.setViewportSize({ width: 1200, height: 900 });
  await page.goto(`${ours.url}/`);
  await page.fill('#search-text', 'web.person@example.org');
  await Promise.all([page.waitForNavigation(), page.click('#search-button')]);
  const results = page.url();
  // one readable entry: name, fingerprint in fours, user IDs, date and algorithm, download link, GnuPG line
  const card = page.locator('ol.keys > li.key');
  assert.equal(await card.count(), 1);
  assert.equal(await card.locator('h2').textContent(), `1. ${web!.uid}`);
  assert.equal(await card.locator('code.fpr').textContent(), fours(web!.fp));
  assert.match((await card.locator('.key-facts').textContent()) ?? '', new RegExp(`${new Date().toISOString().slice(0, 10)}, Ed25519`));
  assert.equal(await card.locator('code.cmd').textContent(), `gpg --recv-keys ${web!.fp}`);
  // SKS's listing is still there under it, as scripts scrape it
  assert.match((await page.textContent('.listing pre:nth-of-type(2)')) ?? '', new RegExp(`^pub\\s+\\S+/\\s*${web!.fp.slice(-8)} \\d{4}-\\d\\d-\\d\\d Web Person`, 'm'));
  assert.equal(await page.inputValue('#site-search'), 'web.person@example.org', 'the search stays in the box');

  await Promise.all([page.waitForNavigation(), card.locator('a.view').click()]);
  assert.equal(await page.locator('ol.keys code.fpr').textContent(), fours(web!.fp));
  const shown = await openpgp.readKey({ armoredKey: (await page.textContent('pre.armor')) ?? '' });
  assert.equal(shown.getFingerprint().toUpperCase(), web!.fp, 'the key page shows the armored key');

  const [download] = await Promise.all([page.waitForEvent('download'), page.click('a.download')]);
  assert.equal(download.suggestedFilename(), `${web!.fp}.asc`);
  const file = readFileSync((await download.path())!, 'utf8');
  const got = await openpgp.readKey({ armoredKey: file });
  assert.equal(got.getFingerprint().toUpperCase(), web!.fp, 'the downloaded file is the key');
  assert.equal((await got.getPrimaryUser()).user.userID?.userID, web!.uid);

  await page.goBack();
  assert.equal(page.url(), results, 'back to the results');
  assert.equal(await page.locator('ol.keys code.fpr').textContent(), fours(web!.fp));
});

test('the download answers with Content-Disposition; the HKP answers GnuPG reads are unchanged', async () => {
  const fp = keys[0]!.fp;
  const file = await fetch(`${ours.url}/vks/v1/by-fingerprint/${fp}`);
  assert.equal(file.status, 200);
  assert.equal(file.headers.get('content-disposition'), `attachment; filename=${fp}.asc`);
  assert.match(file.headers.get('content-type') ?? '', /^application\/pgp-keys/);
  const hkp = await fetch(`${ours.url}/pks/lookup?op=get&options=mr&search=0x${fp}`);
  assert.equal(hkp.headers.get('content-disposition'), 'attachment; filename=gpgkey.asc', 'as SKS');
});

test('the header search box finds keys from any page, the results list every match', async () => {
  await page.setViewportSize({ width: 360, height: 800 });
  await page.goto(`${ours.url}/pks/lookup?op=stats`);
  await page.fill('#site-search', 'person');
  await Promise.all([page.waitForNavigation(), page.press('#site-search', 'Enter')]);
  const fprs = await page.locator('ol.keys code.fpr').allTextContents();
  assert.deepEqual(new Set(fprs), new Set([fours(keys[0]!.fp), fours(keys[1]!.fp)]));
  assert.match((await page.textContent('p.summary')) ?? '', /2 keys found for person/);
});

test('a search that finds nothing answers 404 with advice, the search kept in the box to be corrected', async () => {
  await page.setViewportSize({ width: 1200, height: 900 });
  const res = await page.goto(`${ours.url}/pks/lookup?op=index&search=${encodeURIComponent('web.persn@example.org')}`);
  assert.equal(res?.status(), 404);
  assert.equal(await page.textContent('h1'), 'No results found');
  assert.match((await page.textContent('main')) ?? '', /Check the spelling/);
  assert.equal(await page.inputValue('#site-search'), 'web.persn@example.org');
  await page.fill('#site-search', 'web.person@example.org');
  await Promise.all([page.waitForNavigation(), page.press('#site-search', 'Enter')]);
  assert.equal(await page.locator('ol.keys code.fpr').textContent(), fours(keys[0]!.fp));
});

test('keyboard: the skip link comes first and leads to the content', async () => {
  await page.setViewportSize({ width: 1200, height: 900 });
  await page.goto(`${ours.url}/pks/lookup?op=index&search=person`);
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => (document.activeElement as HTMLElement).className), 'skip');
  assert.ok(await page.locator('a.skip').isVisible(), 'visible when focused');
  await page.keyboard.press('Enter');
  assert.ok(page.url().endsWith('#main'));
});

test('the stats page: key count, peers, a chart of daily additions with its text, SKS\'s tables', async () => {
  await page.goto(`${ours.url}/pks/lookup?op=stats`);
  assert.match((await page.textContent('main')) ?? '', /Total number of keys: 3/);
  assert.match((await page.textContent('ul.overview')) ?? '', /3 keys\s*2 gossip peers/);
  assert.deepEqual(await page.locator('table[summary="Gossip Peers"] td:first-child').allTextContents(), ['peer.one.example 11370', 'peer.two.example 11370']);
  const svg = page.locator('figure.chart svg[role="img"]');
  assert.equal(await svg.locator('rect.bar').count(), 7, 'a bar per day');
  const today = new Date().toISOString().slice(0, 10);
  // the chart says what the Daily Histogram table says
  const tableToday = await page.locator(`table[summary="Statistics"] tr:has(td:text-is("${today}")) td:nth-child(2)`).first().textContent();
  assert.equal(await svg.locator('text.value').last().textContent(), tableToday);
  assert.equal(Number(tableToday), 3);
  assert.match((await svg.locator('desc').textContent()) ?? '', new RegExp(`${today}: 3`));
  assert.match((await page.textContent('figure.chart figcaption')) ?? '', /Keys added per day/);
  const bars = await svg.locator('rect.bar').evaluateAll((rs) => rs.map((r) => Number(r.getAttribute('height'))));
  assert.ok(bars.at(-1)! > 0 && bars.slice(0, -1).every((h) => h < bars.at(-1)! || h === 0), 'today\'s bar is the tallest');
});

/** Every page a person meets, with the status it must keep. */
const PAGES: Array<{ name: string; path: () => string; status: number; text: RegExp }> = [
  { name: 'home', path: () => '/', status: 200, text: /Publish a key/ },
  { name: 'results', path: () => '/pks/lookup?op=index&fingerprint=on&search=person', status: 200, text: /2 keys found/ },
  { name: 'vindex', path: () => `/pks/lookup?op=vindex&fingerprint=on&search=0x${keys[0]!.fp}`, status: 200, text: /selfsig/ },
  { name: 'key', path: () => `/pks/lookup?op=get&search=0x${keys[0]!.fp}`, status: 200, text: /BEGIN PGP PUBLIC KEY BLOCK/ },
  { name: 'stats', path: () => '/pks/lookup?op=stats', status: 200, text: /Daily Histogram/ },
  { name: 'error-404-no-key', path: () => '/pks/lookup?op=index&search=nobody.here%40example.com', status: 404, text: /Check the spelling/ },
  { name: 'error-404-page', path: () => '/no-such-page.html', status: 404, text: /Page not found/ },
  { name: 'error-400', path: () => '/pks/lookup?op=index', status: 400, text: /What you can do/ },
  { name: 'error-413-too-many', path: () => '/pks/lookup?op=index&search=example', status: 413, text: /more specific/ },
  { name: 'error-501', path: () => '/pks/lookup?op=frobnicate&search=x', status: 501, text: /does not offer/ },
];

for (const p of PAGES) {
  test(`${p.name}: status ${p.status}, the site's layout, no sideways scrolling at ${WIDTHS.join(' and ')} px, no serious axe findings`, async () => {
    for (const width of WIDTHS) {
      await page.setViewportSize({ width, height: 800 });
      const res = await page.goto(`${ours.url}${p.path()}`);
      assert.equal(res?.status(), p.status);
      assert.match((await page.textContent('main')) ?? '', p.text);
      await checkPage(p.name, width);
    }
  });
}

// 429 and 503 need a crowded or broken server: their pages, as errorReply writes them, are served here on the
// server's own origin (so /style.css is ours) and checked like the others.
for (const [status, title, message, text] of [
  [429, 'Too many requests', 'this address already has 2 uploads in progress', /Wait a minute/],
  [503, 'Service unavailable', 'the key store is busy or unavailable (locked); nothing was changed, try again later', /try again in a few minutes/],
] as const) {
  test(`error ${status}: says what to do, in the site's layout at ${WIDTHS.join(' and ')} px`, async () => {
    const url = `${ours.url}/error-${status}-preview`;
    await page.route(url, (route) => route.fulfill({ status, contentType: 'text/html; charset=UTF-8', body: errorPage(status, title, message) }));
    for (const width of WIDTHS) {
      await page.setViewportSize({ width, height: 800 });
      const res = await page.goto(url);
      assert.equal(res?.status(), status);
      assert.equal(await page.textContent('h1'), title);
      assert.match((await page.textContent('main')) ?? '', text);
      await checkPage(`error-${status}`, width);
    }
    await page.unroute(url);
  });
}
