// The web root on the HKP port (as SKS serves <basedir>/web): the operator's files in <basedir>/<web_root>, else
// the built-in pages of src/web/. Only plain file names ([A-Za-z0-9.-], as SKS allows) with known types are served.
import { existsSync, readFileSync, statSync, readdirSync, mkdirSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Router } from 'express';
import type { DbContext } from './context.js';
import { sendError } from './http-util.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=UTF-8', '.htm': 'text/html; charset=UTF-8', '.xhtml': 'application/xhtml+xml',
  '.css': 'text/css', '.js': 'application/javascript', '.txt': 'text/plain', '.png': 'image/png',
  '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.gif': 'image/gif', '.ico': 'image/x-icon', '.svg': 'image/svg+xml',
};

/** Folder of the built-in pages (src/web, also when running from dist/). */
export function builtinWebDir(): string {
  for (const rel of ['./web/', '../src/web/']) {
    const dir = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(join(dir, 'index.html'))) return dir;
  }
  throw new Error('built-in web pages (packages/sks-db/src/web) not found');
}

/** Copies the built-in pages into `dir` (the `make web` step); existing files are overwritten. */
export function installWeb(dir: string): string[] {
  mkdirSync(dir, { recursive: true });
  const src = builtinWebDir();
  const copied: string[] = [];
  for (const f of readdirSync(src)) {
    copyFileSync(join(src, f), join(dir, f));
    copied.push(join(dir, f));
  }
  return copied;
}

export function webRouter(ctx: DbContext): Router {
  const r = Router();
  const builtin = builtinWebDir();
  r.get('*', (req, res) => {
    let name = req.path === '/' ? 'index.html' : req.path.slice(1);
    if (!/^[A-Za-z0-9.-]+$/.test(name) || name.startsWith('.')) return sendError(res, 404, `Page not found: ${req.path}`);
    const ext = name.slice(name.lastIndexOf('.'));
    const type = TYPES[ext];
    if (!type) return sendError(res, 404, `Page not found: ${req.path}`);
    for (const dir of [ctx.webRoot, builtin]) {
      const file = join(dir, name);
      if (existsSync(file) && statSync(file).isFile()) {
        res.status(200).type(type).end(readFileSync(file));
        return;
      }
    }
    name = '';
    sendError(res, 404, `Page not found: ${req.path}`);
  });
  return r;
}
