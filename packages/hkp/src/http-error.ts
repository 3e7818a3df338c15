/** An error that becomes an HTTP reply with this status and a human-readable message (HKP servers answer bad
 * requests with a page saying why; see sks-db's http-util for the page). */
export class HttpError extends Error {
  /** `title` replaces the status's usual page title (e.g. 'Too many responses' for a 413 of a search). */
  constructor(readonly status: number, message: string, readonly title?: string) {
    super(message);
    this.name = 'HttpError';
  }
}
