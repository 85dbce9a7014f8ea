/** Runs a command: a failure ends it with one line naming what is wrong, and a non-zero status. */
export function runMain(main: () => Promise<number | void>): void {
  main().then(
    (code) => process.exit(code ?? 0),
    (error: unknown) => {
      const message = error instanceof Error ? error.message : String(error);
      process.stderr.write(`login-etl: ${message.split('\n')[0]}\n`);
      process.exit(1);
    },
  );
}

/**
 * Resolves on the first Ctrl-C or SIGTERM. Later ones are absorbed while the stop is under way: a terminal's
 * Ctrl-C reaches both tsx and this process, which tsx then relays, so one key press arrives twice.
 */
export function untilStopSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => resolve(signal));
  });
}
