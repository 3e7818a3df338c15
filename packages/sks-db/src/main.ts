// sks-db: the HKP service (SKS `sks db`). Usage:
//   sks-db [--basedir DIR]                       serve HKP on hkp_address:hkp_port with db_workers workers
//   sks-db --install-web [--basedir DIR]         copy the built-in web pages into <basedir>/<web_root>
//   sks-db wkd-export --domain D --out DIR       write a static Web Key Directory for domain D
import { loadBasedir } from '@sks/keystore';
import { readArgs, stopOnSignals } from '@sks/service';
import { startDb } from './server.js';
import { installWeb } from './web-pages.js';
import { wkdExportMain } from './wkd-export.js';

const USAGE = 'usage: sks-db [--basedir DIR] | --install-web [--basedir DIR] | wkd-export --domain D --out DIR [--basedir DIR]';

const argv = process.argv.slice(2);
if (argv[0] === 'wkd-export') {
  const { values } = readArgs(argv.slice(1), { basedir: { type: 'string' }, domain: { type: 'string' }, out: { type: 'string' } }, { usage: USAGE });
  const base = loadBasedir(values.basedir);
  for (const w of base.warnings) console.error(w);
  process.exitCode = wkdExportMain(values, base.dbPath, base.settings.max_index_results);
} else {
  const { values } = readArgs(argv, { basedir: { type: 'string' }, 'install-web': { type: 'boolean' } }, { usage: USAGE });
  const base = loadBasedir(values.basedir);
  for (const w of base.warnings) console.error(w);
  if (values['install-web']) {
    const target = base.path(base.settings.web_root);
    const files = installWeb(target);
    console.log(`installed ${files.length} web files into ${target}`);
  } else {
    // The handler goes in before the start: a Ctrl-C while the workers start (the whole process group gets it)
    // stops the service once it is up, instead of killing the primary with its workers half started.
    let db: ReturnType<typeof startDb> | undefined;
    stopOnSignals(async () => (await db)?.stop(), (e) => console.error(`sks-db stop failed: ${(e as Error).message}`));
    db = startDb({ basedir: base.dir });
    console.error(`sks-db listening on ${(await db).url}`);
  }
}
