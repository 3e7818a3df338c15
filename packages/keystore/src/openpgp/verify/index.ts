// Reading public key material and signatures and verifying signatures (see each file).
export * from './key-material.js';
export * from './signature-packet.js';
export * from './verify.js';
