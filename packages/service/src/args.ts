// The command line of every process, read one way: node's parseArgs, with errors a person understands.
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** A command line the program cannot run with: printed with the usage, exit status 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

type Options = NonNullable<ParseArgsConfig['options']>;
/** What parseArgs returns for these options (values typed by option). */
export type ParsedArgs<O extends Options> = ReturnType<typeof parseArgs<{ options: O; allowPositionals: boolean; strict: true }>>;

/** Reads `argv` (without node and the script) against `options`. An unknown option or a missing value throws
 * UsageError; with `usage`, it is printed with the usage instead and the process exits with status 2. */
export function readArgs<O extends Options>(argv: string[], options: O, opts: { positionals?: boolean; usage?: string } = {}): ParsedArgs<O> {
  try {
    return parseArgs({ args: argv, options, allowPositionals: opts.positionals ?? false, strict: true });
  } catch (e) {
    if (!(e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) throw e;
    if (opts.usage === undefined) throw new UsageError((e as Error).message);
    console.error(`${(e as Error).message}\n${opts.usage}`);
    process.exit(2);
  }
}

/** A whole, non-negative number given for --name, or `fallback` when absent. */
export function intArg(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value)) throw new UsageError(`--${name} must be a whole number, got "${value}"`);
  return Number(value);
}
