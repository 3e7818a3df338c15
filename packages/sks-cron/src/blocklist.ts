// Blocklist enforcement: a key whose primary fingerprint is on the blocklist must not stay in the store, however
// it got there (blocked after it was stored, or written by a process running an older blocklist).
import type { KeyStore } from '@sks/keystore';

export interface BlocklistResult {
  blocked: number;
  removed: string[];
}

export function enforceBlocklist(store: KeyStore): BlocklistResult {
  const list = store.blocklist();
  const removed: string[] = [];
  for (const entry of list) {
    if (store.getByFingerprint(entry.fingerprint) && store.deleteKey(entry.fingerprint, `blocklist: ${entry.reason}`)) {
      removed.push(entry.fingerprint);
    }
  }
  return { blocked: list.length, removed };
}
