// Processes seen through /proc, as pgrep -P and ps would show them: the tests that stop services check that no
// child is left behind, and the scale benchmark adds up the memory of a service's whole process tree.
import { readFileSync, readdirSync } from 'node:fs';

/** Every live process id with its parent's, read from /proc/PID/stat (field 4, after the parenthesised name). */
export function parentPids(): Map<number, number> {
  const parent = new Map<number, number>();
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      parent.set(Number(e), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // the process ended while we looked
    }
  }
  return parent;
}

/** Process ids whose parent is `pid` (with `only`, those whose command line holds it). */
export function childrenOf(pid: number, only?: string): number[] {
  const kids: number[] = [];
  for (const [p, pp] of parentPids()) {
    if (pp !== pid) continue;
    try {
      if (only === undefined || readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(only)) kids.push(p);
    } catch {
      // ended
    }
  }
  return kids;
}

/** A process and all its descendants, parents first. */
export function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const [p, pp] of parentPids()) children.set(pp, [...(children.get(pp) ?? []), p]);
  const out: number[] = [];
  for (const queue = [pid]; queue.length > 0;) {
    const p = queue.shift()!;
    out.push(p);
    queue.push(...(children.get(p) ?? []));
  }
  return out;
}

/** Resident memory (MiB) of a process and all its descendants (sks-db's cluster workers). */
export function treeRssMiB(pid: number): number {
  let kb = 0;
  for (const p of descendants(pid)) {
    try {
      kb += Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${p}/status`, 'utf8'))?.[1] ?? 0);
    } catch {
      // ended
    }
  }
  return kb / 1024;
}
