// Periodic keydump into <basedir>/<dump_dir>, for other operators to bootstrap from; written by sks-admin's dump.
import type { CronContext } from './context.js';

export async function writeDump(ctx: CronContext): Promise<Record<string, unknown>> {
  throw new Error(`dump not available yet (dump_dir ${ctx.settings.dump_dir})`);
}
