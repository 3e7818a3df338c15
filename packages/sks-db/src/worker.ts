// One HTTP worker of the sks-db cluster (forked by server.ts startDb).
import { runWorker } from './server.js';

runWorker().catch((err) => {
  console.error(err);
  process.exit(1);
});
