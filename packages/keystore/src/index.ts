// Public surface of the key-store library.
export * from './openpgp/types.js';
export * from './openpgp/packet.js';
export * from './openpgp/armor.js';
export * from './openpgp/key.js';
export * from './openpgp/merge.js';
export * from './openpgp/digest.js';
export * from './policy.js';
export * from './store/keystore.js';
export * from './store/domain-index.js';
export { uidEmail } from './store/prepare.js';
export * from './ptree/prefix-tree.js';
export * from './config/settings.js';
export * from './config/sksconf.js';
export * from './config/membership.js';
export * from './log.js';
export * from './metrics.js';
export * as verify from './openpgp/verify/index.js';
export * from './profiles/index.js';
