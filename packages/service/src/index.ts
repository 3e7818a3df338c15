// @sks/service: what every process needs to run as a service (settings, command line, signals, metrics, peer
// addresses).
export { resolveSettings } from './settings.js';
export { readArgs, intArg, UsageError } from './args.js';
export { stopOnSignals } from './signals.js';
export { plainAddress } from './address.js';
export * from './metrics.js';
