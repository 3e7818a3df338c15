// sks-db: the HKP service (SKS `sks db`). Usage:
//   sks-db [--basedir DIR]                       serve HKP on hkp_address:hkp_port with db_workers workers
//   sks-db --install-web [--basedir DIR]         copy the built-in web pages into <basedir>/<web_root>
//   sks-db wkd-export --domain D --out DIR       write a static Web Key Directory for domain D
import { loadBasedir } from '@sks/keystore';
import { startDb } from './server.js';
import { installWeb } from './web-pages.js';
import { wkdExportMain } from './wkd-export.js';

const argv = process.argv.slice(2);
const bi = argv.indexOf('--basedir');
const basedir = bi >= 0 ? argv[bi + 1] : undefined;
const base = loadBasedir(basedir);
for (const w of base.warnings) console.error(w);

if (argv.includes('--install-web')) {
  const target = base.path(base.settings.web_root);
  const files = installWeb(target);
  console.log(`installed ${files.length} web files into ${target}`);
} else if (argv[0] === 'wkd-export') {
  process.exitCode = wkdExportMain(argv.slice(1), base.dbPath, base.settings.max_index_results);
} else {
  const db = await startDb({ basedir: base.dir });
  console.error(`sks-db listening on ${db.url}`);
  const stop = () => {
    void db.stop().finally(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
