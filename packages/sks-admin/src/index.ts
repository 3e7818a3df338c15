// sks-admin as a library (tests and benchmarks call these directly).
export { main } from './main.js';
export { initBasedir, defaultSksconf } from './init.js';
export { loadFiles, findDumpFiles, formatSummary, type LoadOptions, type LoadSummary } from './load.js';
export { dumpStore, type DumpResult } from './dump.js';
export {
  generateDump, cachedDump, layout, DEFAULT_GEN, GENERATOR_VERSION, PUBLIC_PROFILE_VERSION, GEN_PROFILES,
  type GenParams, type GenManifest, type GenProfile, type GenSizes,
} from './gen.js';
export { generatePublicKey, publicSignerIndexes, rsa4096Pool, PUBLIC_ALGOS, type PublicAlgo } from './gen-public.js';
export { generateKey, algoOf, rsaPool, type GenAlgo, type GeneratedKey } from './gen-keys.js';
export { KeyBlockScanner, type ScanItem } from './scan.js';
export { downloadDump, parseListing } from './download.js';
export { Progress } from './progress.js';
