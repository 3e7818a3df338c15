// Recon profiles by name, so `recon_profiles: sks,hockeypuck` can choose which digest sets a server keeps and which
// peers it can talk to.
import type { Policy } from '../policy.js';
import type { ReconProfile } from './profile.js';
import { sksProfile } from './sks.js';
import { hockeypuckProfile } from './hockeypuck/index.js';

/** What a profile may need from the server's configuration. */
export interface ProfileOptions {
  /** our key policy (the `sks` profile is today's store: SKS merge plus this policy) */
  policy: Policy;
}

export const RECON_PROFILES: Readonly<Record<string, (options: ProfileOptions) => ReconProfile>> = {
  sks: (o) => sksProfile(o.policy),
  hockeypuck: () => hockeypuckProfile(),
};

/** The profiles named in a list ("sks,hockeypuck" or an array), each once, in the order given. */
export function reconProfiles(names: string | readonly string[], options: ProfileOptions): ReconProfile[] {
  const list = (typeof names === 'string' ? names.split(/[\s,]+/) : names).filter(Boolean);
  const out: ReconProfile[] = [];
  for (const name of new Set(list)) {
    const make = RECON_PROFILES[name];
    if (!make) throw new Error(`unknown recon profile "${name}" (known: ${Object.keys(RECON_PROFILES).join(', ')})`);
    out.push(make(options));
  }
  return out;
}
