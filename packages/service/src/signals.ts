// How every long-running process stops: SIGTERM or SIGINT (docker stop, Ctrl-C) runs its stop once, then exits.

/** Calls `stop` at the first SIGTERM or SIGINT and exits when it has finished (status 0, or 1 if it failed). */
export function stopOnSignals(stop: () => Promise<unknown>, onError?: (e: unknown) => void): void {
  let stopping = false;
  const handler = () => {
    if (stopping) return;
    stopping = true;
    stop().then(
      () => process.exit(0),
      (e: unknown) => {
        onError?.(e);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
}
