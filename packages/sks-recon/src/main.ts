// sks-recon: the SKS reconciliation service (SKS `sks recon`). Usage: sks-recon [--basedir DIR]
// Reads <basedir>/sksconf and <basedir>/membership, opens the shared key store, gossips with member peers.
// SIGTERM / SIGINT stop it cleanly (running session ended, database closed).
import { readArgs, stopOnSignals } from '@sks/service';
import { startRecon } from './start.js';

const USAGE = 'usage: sks-recon [--basedir DIR]';

const { values } = readArgs(process.argv.slice(2), { basedir: { type: 'string' } }, { usage: USAGE });
// The handler goes in before the start: a Ctrl-C during it stops the service once it is up, instead of killing it.
const recon = startRecon({ basedir: values.basedir });
stopOnSignals(async () => (await recon).stop(), (e) => console.error(`sks-recon stop failed: ${(e as Error).message}`));
await recon;
