// The lines SKS prints under a signature in op=vindex (policy URL, notation, designated revoker): our answer for the
// keys of test/fixtures/vindex/ equals, line for line, the key block real SKS 1.1.6 gave for the same keys.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fixturePath } from '../../../../test/support/fixtures.js';
import { startOurs } from './helpers.js';

const ALICE = '9BAC47418E6E1BABA999891EDB04D7EB570B43D2';

/** The key's block of a vindex page: from the rule above it to the end of its <pre> (SKS's page ends there; ours
 * goes on with the site's footer). */
function keyBlock(html: string): string[] {
  const from = html.indexOf('<hr /><pre>');
  const to = html.indexOf('</pre>', from);
  assert.ok(from > 0 && to > from, 'a vindex page with one key');
  return html.slice(from, to).split(/\r?\n/);
}

for (const variant of ['', '-crafted', '-crafted2', '-crafted3']) {
  test(`vindex of alice${variant}.gpg: the same lines as SKS 1.1.6, policy URL, notation and revocation key included`, async () => {
    const ours = await startOurs({ keyFiles: [fixturePath(`vindex/alice${variant}.gpg`), fixturePath('vindex/bob.gpg')] });
    try {
      const html = await (await fetch(`${ours.url}/pks/lookup?op=vindex&search=0x${ALICE}`)).text();
      const sks = readFileSync(fixturePath(`vindex/sks-vindex${variant}.html`), 'utf8');
      assert.deepEqual(keyBlock(html), keyBlock(sks));
      assert.match(html, /Policy URL: /);
      assert.match(html, variant === '' ? /Revocation key fingerprint: / : /Notation data: /);
    } finally {
      await ours.stop();
    }
  });
}
