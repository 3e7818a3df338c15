// The statistics of the change log (op=stats, sks-cron's stats file): per hour and per day, how many keys arrived
// new and how many changed, read incrementally (each refresh reads only the changes since the last one).
import type { ChangeLog, KeyReader } from './contract.js';

const HOUR = 3600;
const DAY = 86400;
/** How far back the histograms reach (SKS shows about a week of days and a day of hours). */
export const DAYS_SHOWN = 7;
export const HOURS_SHOWN = 24;
/** Changes read per query. */
const CHANGE_PAGE = 5000;

export interface Bucket {
  /** Unix seconds of the bucket's start. */
  start: number;
  added: number;
  updated: number;
}

export interface StatsSnapshot {
  takenAt: number;
  totalKeys: number;
  hourly: Bucket[];
  daily: Bucket[];
}

type Counts = Map<number, { added: number; updated: number }>;

/** Running tally over one store's change log. */
export class ChangeTally {
  private lastSeq = 0;
  private readonly hours: Counts = new Map();
  private readonly days: Counts = new Map();

  constructor(private readonly store: ChangeLog & Pick<KeyReader, 'count'>) {}

  /** Reads what changed since the last call and returns the figures as of now. */
  snapshot(now = Math.floor(Date.now() / 1000)): StatsSnapshot {
    this.advance(now);
    this.prune(now);
    return {
      takenAt: now,
      totalKeys: this.store.count(),
      hourly: buckets(this.hours, HOUR, HOURS_SHOWN, now),
      daily: buckets(this.days, DAY, DAYS_SHOWN, now),
    };
  }

  /** An `add` preceded in the same write by a `remove` of the same fingerprint is an update (the key's digest
   * changed); an `add` alone is a new key. */
  private advance(now: number): void {
    // Start a week back, not at seq 0: after a bulk load the log holds millions of older entries nobody shows.
    if (this.lastSeq === 0) this.lastSeq = this.store.seqBefore(now - (DAYS_SHOWN + 1) * DAY);
    for (;;) {
      const changes = this.store.changesSince(this.lastSeq, CHANGE_PAGE);
      if (changes.length === 0) break;
      const removed = new Set<string>();
      for (const c of changes) {
        this.lastSeq = Math.max(this.lastSeq, c.seq);
        if (c.op === 'remove') {
          removed.add(`${c.fingerprint}@${c.at}`);
          continue;
        }
        const updated = removed.has(`${c.fingerprint}@${c.at}`);
        for (const [map, size] of [[this.hours, HOUR], [this.days, DAY]] as const) {
          const start = Math.floor(c.at / size) * size;
          const b = map.get(start) ?? { added: 0, updated: 0 };
          if (updated) b.updated++;
          else b.added++;
          map.set(start, b);
        }
      }
      if (changes.length < CHANGE_PAGE) break;
    }
  }

  /** Forgets buckets older than the histograms show, so a long-running tally stays small. */
  private prune(now: number): void {
    for (const [map, size, n] of [[this.hours, HOUR, HOURS_SHOWN], [this.days, DAY, DAYS_SHOWN]] as const) {
      const oldest = Math.floor(now / size) * size - (n - 1) * size;
      for (const start of map.keys()) if (start < oldest) map.delete(start);
    }
  }
}

function buckets(map: Counts, size: number, n: number, now: number): Bucket[] {
  const out: Bucket[] = [];
  const last = Math.floor(now / size) * size;
  for (let i = n - 1; i >= 0; i--) {
    const start = last - i * size;
    const b = map.get(start) ?? { added: 0, updated: 0 };
    out.push({ start, ...b });
  }
  return out;
}
