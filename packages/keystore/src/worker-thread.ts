// Worker threads that run from the TypeScript sources too (tests run with `--import tsx`, which worker threads of
// Node 20 do not inherit): a .ts worker is started through a small module that registers tsx first.
import { Worker, type TransferListItem } from 'node:worker_threads';

/** Starts `<dir of fromUrl>/<name>.js` (or `.ts` when running from sources) as a worker thread. */
export function startWorker(fromUrl: string, name: string, workerData: unknown, transferList?: TransferListItem[]): Worker {
  const fromSource = fromUrl.endsWith('.ts');
  const url = new URL(`./${name}${fromSource ? '.ts' : '.js'}`, fromUrl);
  if (!fromSource) return new Worker(url, { workerData, transferList });
  const tsx = import.meta.resolve('tsx/esm/api');
  const code = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(url.href)}); })`;
  return new Worker(code, { eval: true, workerData, transferList });
}
