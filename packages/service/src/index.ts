// @sks/service: what every process needs to run as a service (settings, command line, signals, metrics).
export { resolveSettings } from './settings.js';
export { readArgs, intArg, UsageError } from './args.js';
export { stopOnSignals } from './signals.js';
export * from './metrics.js';
