// The one layout of every HTML page sks-db serves: a header with the site name and the search box, the page's own
// content, a footer. No script, nothing from elsewhere: the look is /style.css (src/web/style.css, served by us).
// The home page (src/web/index.html) is a static file with the same header and footer (checked by layout.test.ts).
// HTML escaping is the key store's, which writes each key's vindex listing with it (listing.ts).
import { htmlQuote } from '@sks/keystore';

export { htmlQuote };

/** The name the header shows and every page's <title> ends with. */
export const SITE_NAME = 'OpenPGP Keyserver';

/** What one page adds to the layout. */
export interface PageOptions {
  /** The search the page answers: kept in the header's search box. */
  search?: string;
}

/** The header: skip link, site name (a link home), the search box. */
export function siteHeader(search = ''): string {
  const value = search === '' ? '' : ` value="${htmlQuote(search)}"`;
  return (
    '<a class="skip" href="#main">Skip to content</a>\n' +
    '<header class="site-header">\n' +
    `<a class="site-name" href="/">${SITE_NAME}</a>\n` +
    '<form class="site-search" role="search" action="/pks/lookup" method="get">\n' +
    '<label for="site-search">Search keys</label>\n' +
    '<input type="hidden" name="op" value="index" /><input type="hidden" name="fingerprint" value="on" />\n' +
    `<input type="search" id="site-search" name="search" required="required" placeholder="name, e-mail, key ID or fingerprint"${value} />\n` +
    '<button type="submit">Search</button>\n' +
    '</form>\n' +
    '</header>\n'
  );
}

/** The footer: the way back home and to the other pages of the site. */
export function siteFooter(): string {
  return (
    '<footer class="site-footer">\n' +
    '<nav aria-label="Site"><a href="/">Home</a> <a href="/#add">Publish a key</a> ' +
    '<a href="/pks/lookup?op=stats">Server statistics</a></nav>\n' +
    '<p>An SKS-compatible OpenPGP keyserver (HKP). Keys are published by anyone and are not verified.</p>\n' +
    '</footer>\n'
  );
}

/** The note every page of SKS carries (htmlTemplates.ml), kept under the header. */
const DISCLAIMER =
  '<p class="disclaimer">Information displayed on this website, including public keyblocks and anything associated ' +
  'with them, <em>is not cryptographically verified</em>. Always inspect public keyblocks using OpenPGP software on ' +
  'a secured device that you control to see verified information.</p>\n';

/** A whole page: `title` is the <h1> (HTML; SKS's `<br />` in it becomes a separator in <title>), `body` its
 * content. */
export function page(title: string, body: string, o: PageOptions = {}): string {
  const [top, bottom] = pageAround(title, o);
  return top + body + bottom;
}

/** A page without its body: what comes before it and after it (a caller that encodes a large body on its own). */
export function pageAround(title: string, o: PageOptions = {}): [string, string] {
  const plain = title.replace(/<br \/>/gi, ' | ').replace(/<[^>]+>/g, '');
  return [
    '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8" />\n' +
    '<meta name="viewport" content="width=device-width, initial-scale=1" />\n' +
    `<title>${plain} - ${SITE_NAME}</title>\n` +
    '<link rel="stylesheet" href="/style.css" />\n</head>\n<body>\n' +
    siteHeader(o.search) +
    `<main id="main">\n${DISCLAIMER}<h1>${title}</h1>\n`,
    '\n</main>\n' + siteFooter() + '</body>\n</html>',
  ];
}

/** What a person can do about an error, by status (and title, where one status has several causes). */
function advice(status: number, title: string): string {
  if (title === 'Too many responses') {
    return 'Too many keys match this search to list them all. Search for something more specific: a whole e-mail ' +
      'address, a long key ID (16 hex digits after 0x) or the fingerprint.';
  }
  switch (status) {
    case 400: return 'The request could not be understood. Search with a name, an e-mail address, a key ID ' +
      '(0x followed by 8 or 16 hex digits) or a fingerprint (40 hex digits); to publish, paste a whole ASCII-armored ' +
      'public key block (gpg --armor --export KEYID).';
    case 404: return 'Nothing here matches. Check the spelling, try a part of the name or the whole e-mail address, ' +
      'or ask the key\'s owner for their fingerprint. A key can only be found once it was published to a keyserver.';
    case 405: return 'This address does not take that kind of request. Use the search box or the forms of the home page.';
    case 408: return 'The request took too long to arrive. Try again.';
    case 413: return 'The request is larger than this server accepts. Publish one key at a time, or remove photos ' +
      'and old signatures from the key before you publish it.';
    case 415: return 'Send a key as the form on the home page does (application/x-www-form-urlencoded, field keytext).';
    case 422: return 'The key was read but not stored. Check the reasons above; publish the public key only ' +
      '(gpg --armor --export KEYID), never a secret key.';
    case 429: return 'Too many requests came from your address at once. Wait a minute, then try again.';
    case 501: return 'This server does not offer that operation. Use the search box above.';
    case 503: return 'The server is busy or under maintenance. Nothing was changed: try again in a few minutes.';
    default: return status >= 500
      ? 'Something went wrong on the server. Nothing was changed: try again later, and tell the operator if it goes on ' +
        '(see the server contact on the statistics page).'
      : 'Check the request and try again, or start again from the home page.';
  }
}

/** The HTML page of an error: what went wrong, then what to do. The <h1> is the title, as on SKS's error pages;
 * the search that failed stays in the search box, to be corrected. */
export function errorPage(status: number, title: string, message: string, search?: string): string {
  return page(
    title,
    `<p class="error">${htmlQuote(title)}: ${htmlQuote(message)}</p>\n` +
      `<h2>What you can do</h2>\n<p class="advice">${advice(status, title)}</p>\n` +
      `<p class="status">HTTP status ${status}. <a href="/">Back to the home page</a></p>`,
    { search },
  );
}
