// Reads `sksconf` in SKS's own syntax: `name: value` per line, `#` comments, a boolean option is a bare `name:`.
// Unknown SKS options are accepted with a warning so an operator can bring an existing SKS config.
import { readFileSync, existsSync } from 'node:fs';
import { join, resolve, isAbsolute } from 'node:path';
import { SETTINGS, defaultSettings, type Settings, type SettingName } from './settings.js';

/** A config error that names the file, the line and the setting, so an operator can fix it at once. */
export class ConfigError extends Error {
  constructor(readonly file: string, readonly line: number, readonly setting: string, problem: string) {
    super(`${file}:${line}: setting "${setting}": ${problem}`);
    this.name = 'ConfigError';
  }
}

/** SKS options we know but do not use; accepted silently. */
const SKS_ONLY_OPTIONS = new Set([
  'debuglevel', 'pagesize', 'keyid_pagesize', 'meta_pagesize', 'subkeyid_pagesize', 'time_pagesize', 'tqueue_pagesize',
  'ptree_pagesize', 'membership_reload_interval', 'command_timeout', 'wserver_timeout', 'max_matches', 'stat_hour',
  'dbdir', 'use_port_80', 'logfile', 'ptree_thresh_mult',
  'recon_thresh_mult', 'max_outstanding_recon_requests', 'reconciliation_timeout', 'reconciliation_config_timeout',
  'seed', 'membership_reload_time', 'server_contact', 'dump_new', 'max_uid_fetches', 'basedir',
]);

export interface LoadedConfig {
  settings: Settings;
  warnings: string[];
}

export function parseSksconf(text: string, file = 'sksconf'): LoadedConfig {
  const settings = defaultSettings() as Record<string, unknown>;
  const warnings: string[] = [];
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, i) => {
    const lineNo = i + 1;
    const line = raw.replace(/#.*$/, '').trim();
    if (line === '') return;
    const colon = line.indexOf(':');
    if (colon <= 0) throw new ConfigError(file, lineNo, line, 'expected "name: value" (a boolean option is a bare "name:")');
    const name = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    const spec = (SETTINGS as Record<string, (typeof SETTINGS)[SettingName]>)[name];
    if (!spec) {
      if (!SKS_ONLY_OPTIONS.has(name)) warnings.push(`${file}:${lineNo}: unknown setting "${name}" ignored`);
      return;
    }
    switch (spec.type) {
      case 'bool':
        if (value === '' || /^(true|yes|on|1)$/i.test(value)) settings[name] = true;
        else if (/^(false|no|off|0)$/i.test(value)) settings[name] = false;
        else throw new ConfigError(file, lineNo, name, `"${value}" is not a boolean (write a bare "${name}:" to enable it)`);
        break;
      case 'int': {
        if (!/^-?\d+$/.test(value)) throw new ConfigError(file, lineNo, name, `"${value}" is not a whole number`);
        const n = Number(value);
        if (n < 0) throw new ConfigError(file, lineNo, name, `must not be negative`);
        settings[name] = n;
        break;
      }
      case 'list':
        settings[name] = value.split(/[\s,]+/).filter(Boolean);
        break;
      default:
        settings[name] = value;
    }
  });
  const s = settings as Settings;
  if (!s.hostname && s.nodename) s.hostname = s.nodename;
  if (!s.sync_from && s.from_addr) s.sync_from = s.from_addr;
  for (const port of ['hkp_port', 'recon_port'] as const) {
    if (s[port] < 1 || s[port] > 65535) {
      const lineNo = lines.findIndex((l) => l.trim().startsWith(port)) + 1;
      throw new ConfigError(file, lineNo, port, `${s[port]} is not a TCP port (1..65535)`);
    }
  }
  return { settings: s, warnings };
}

/** The base directory (SKS `-basedir`): `$SKS_BASEDIR`, else `volumes/sks` under the current directory. */
export function resolveBasedir(explicit?: string): string {
  const dir = explicit ?? process.env.SKS_BASEDIR ?? 'volumes/sks';
  return isAbsolute(dir) ? dir : resolve(process.cwd(), dir);
}

export interface BaseDir {
  dir: string;
  settings: Settings;
  warnings: string[];
  /** Absolute path of a file named by a setting relative to the base directory. */
  path(relative: string): string;
  dbPath: string;
}

/** Loads `<basedir>/sksconf` (absent file = all defaults). */
export function loadBasedir(explicit?: string): BaseDir {
  const dir = resolveBasedir(explicit);
  const file = join(dir, 'sksconf');
  const { settings, warnings } = existsSync(file)
    ? parseSksconf(readFileSync(file, 'utf8'), file)
    : { settings: defaultSettings(), warnings: [] as string[] };
  const path = (rel: string) => (isAbsolute(rel) ? rel : join(dir, rel));
  return { dir, settings, warnings, path, dbPath: path(settings.db_file) };
}
