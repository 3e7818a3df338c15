// One HTTP worker of the sks-db cluster (forked by server.ts startDb).
// Ctrl-C reaches every process of the terminal's process group: a worker leaves it to the primary, which stops
// the workers with SIGTERM once the service is up. The handler goes in before the server's modules load.
process.on('SIGINT', () => undefined);
const { runWorker } = await import('./server.js');

runWorker().catch((err) => {
  console.error(err);
  process.exit(1);
});
