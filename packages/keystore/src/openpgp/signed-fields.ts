// The small `name: value` documents operators and key owners sign (blocklist entries, deletion requests): one field
// a line, each name once; and the one way their times and the suite's other machine-readable times are written.

/** The fields of such a document's lines (blank lines skipped); undefined when a line is not `name: value` or a
 * name repeats. Callers pass the lines as their format reads them (trimmed or not). */
export function fieldsOf(lines: readonly string[]): Map<string, string> | undefined {
  const fields = new Map<string, string>();
  for (const line of lines) {
    if (line.trim() === '') continue;
    const m = /^([a-z-]+):\s?(.*)$/.exec(line);
    if (!m || fields.has(m[1]!)) return undefined;
    fields.set(m[1]!, m[2]!.trim());
  }
  return fields;
}

/** A primary key fingerprint as these documents write it: 40 (v4) or 64 (v6) upper-case hex digits. */
export const FINGERPRINT_RE = /^([0-9A-F]{40}|[0-9A-F]{64})$/;

/** Unix seconds as ISO 8601 UTC without milliseconds ("2026-12-04T06:00:00Z"). */
export function isoSeconds(unix: number): string {
  return new Date(unix * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
