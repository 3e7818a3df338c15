// sks-recon: the SKS reconciliation service (SKS `sks recon`). Usage: sks-recon [--basedir DIR]
// Reads <basedir>/sksconf and <basedir>/membership, opens the shared key store, gossips with member peers.
// SIGTERM / SIGINT stop it cleanly (running session ended, database closed).
import { startRecon } from './start.js';

const argv = process.argv.slice(2);
const bi = argv.indexOf('--basedir');
const recon = await startRecon({ basedir: bi >= 0 ? argv[bi + 1] : undefined });
let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  void recon.stop().finally(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
