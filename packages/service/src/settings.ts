// The settings a process runs with: the base directory's (defaults, then its sksconf), then what the caller
// overrides (tests, the suite runner). One merge for every process, typed key by key (no casts).
import type { BaseDir, SettingName, Settings } from '@sks/keystore';

function copySetting<K extends SettingName>(to: Settings, from: Partial<Settings>, name: K): void {
  const value = from[name];
  if (value !== undefined) to[name] = value;
}

/** The base directory's settings with `overrides` applied (undefined values are ignored). */
export function resolveSettings(base: Pick<BaseDir, 'settings'>, overrides: Partial<Settings> = {}): Settings {
  const out: Settings = { ...base.settings };
  for (const name of Object.keys(overrides) as SettingName[]) copySetting(out, overrides, name);
  return out;
}
