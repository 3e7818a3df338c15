// The built-in web pages in headless Chromium (Debian's, driven by playwright-core): publish a key with the form,
// search for it, open the verbose listing, download the key, open the statistics page.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startOurs, makeGpg, genKey, dearmorAll, type Ours, type Gpg } from './helpers.js';

let ours: Ours;
let gpg: Gpg;
let browser: Browser;
let page: Page;
let fp: string;

before(async () => {
  ours = await startOurs();
  gpg = makeGpg(ours.url);
  fp = genKey(gpg, 'Web Person <web.person@example.org>');
  // playwright gives the browser its own throwaway profile.
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  page = await browser.newPage();
});

after(async () => {
  await browser?.close();
  gpg?.cleanup();
  await ours?.stop();
});

test('publish a key through the form', async () => {
  await page.goto(`${ours.url}/`);
  await page.fill('#keytext', gpg.run(['--armor', '--export', fp]).stdout);
  await Promise.all([page.waitForNavigation(), page.click('#add-button')]);
  assert.match(await page.content(), /inserted: 1/);
});

test('search by e-mail lists the key, the listing links to the verbose view and the key download', async () => {
  await page.goto(`${ours.url}/`);
  await page.fill('#search-text', 'web.person@example.org');
  await Promise.all([page.waitForNavigation(), page.click('#search-button')]);
  const listing = await page.content();
  assert.match(listing, /Web Person/);
  assert.match(listing, new RegExp(fp.slice(-8)));
  // The user ID links to the verbose listing (vindex) with signatures.
  await Promise.all([page.waitForNavigation(), page.click('text=Web Person')]);
  const vindex = await page.textContent('body');
  assert.match(vindex ?? '', /selfsig/);
  // The key ID links to the key itself.
  await Promise.all([page.waitForNavigation(), page.click(`a:has-text("${fp.slice(-8)}") >> nth=0`)]);
  const got = (await page.textContent('pre')) ?? '';
  const exported = Buffer.from(dearmorAll(gpg.run(['--armor', '--export', fp]).stdout));
  assert.ok(dearmorAll(got).length > 0);
  assert.ok(dearmorAll(got).subarray(0, 40).equals(exported.subarray(0, 40)), 'starts with the same primary key packet');
});

test('the statistics page shows the key count', async () => {
  await page.goto(`${ours.url}/`);
  await Promise.all([page.waitForNavigation(), page.click('#stats-link')]);
  assert.match((await page.textContent('body')) ?? '', /Total number of keys: 1/);
});
