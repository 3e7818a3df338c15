// DUMP_URL support: a single dump file, or a directory listing of *.pgp files as SKS dump sites publish them.
// Files land in <basedir>/dump-download; a file already there with the server's size is not fetched again, and a
// download goes to <name>.part first, so an interrupted download never looks complete.
import { createWriteStream, existsSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { join, basename } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DUMP_FILE_RE } from './load.js';

/** Links to dump files in an HTML (or plain) directory listing, resolved against the listing's URL. */
export function parseListing(html: string, base: string): string[] {
  const out = new Set<string>();
  for (const m of html.matchAll(/href\s*=\s*["']?([^"'\s>]+)/gi)) {
    const href = m[1]!;
    const path = href.split(/[?#]/)[0]!;
    if (!DUMP_FILE_RE.test(path)) continue;
    out.add(new URL(href, base).href);
  }
  return [...out].sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
}

export interface DownloadResult {
  dir: string;
  files: string[];
  fetched: number;
  bytes: number;
}

export async function downloadDump(url: string, dir: string, log: (s: string) => void = () => undefined): Promise<DownloadResult> {
  if (!/^https?:\/\//i.test(url)) throw new Error(`DUMP_URL must be an http(s) URL, got "${url}"`);
  mkdirSync(dir, { recursive: true });
  let urls: string[];
  const path = new URL(url).pathname;
  if (DUMP_FILE_RE.test(path)) {
    urls = [url];
  } else {
    const res = await fetch(url, { redirect: 'follow' });
    if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status}`);
    urls = parseListing(await res.text(), res.url || url);
    if (urls.length === 0) throw new Error(`${url} lists no *.pgp, *.gpg or *.asc files`);
  }
  const result: DownloadResult = { dir, files: [], fetched: 0, bytes: 0 };
  for (const u of urls) {
    const name = decodeURIComponent(basename(new URL(u).pathname));
    if (!DUMP_FILE_RE.test(name) || name.includes('/')) continue;
    const target = join(dir, name);
    result.files.push(target);
    const res = await fetch(u, { redirect: 'follow' });
    if (!res.ok || !res.body) throw new Error(`GET ${u}: HTTP ${res.status}`);
    const len = Number(res.headers.get('content-length') ?? NaN);
    if (existsSync(target) && Number.isFinite(len) && statSync(target).size === len) {
      await res.body.cancel();
      log(`${name}: already downloaded`);
      continue;
    }
    const part = `${target}.part`;
    await pipeline(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream), createWriteStream(part));
    const got = statSync(part).size;
    if (Number.isFinite(len) && got !== len) throw new Error(`GET ${u}: got ${got} of ${len} bytes`);
    renameSync(part, target);
    result.fetched++;
    result.bytes += got;
    log(`${name}: ${(got / 1048576).toFixed(1)} MB`);
  }
  return result;
}
