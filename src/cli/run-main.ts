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

/** Resolves on the first Ctrl-C or SIGTERM. */
export function untilStopSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
}
