/** Runs a command: a failure ends it with one line naming what is wrong, and a non-zero status. */
export function runMain(main: () => Promise<number | void>): void {
  main().then(
    (code) => process.exit(code ?? 0),
    (error: unknown) => {
      process.stderr.write(`login-etl: ${oneLineReason(error)}\n`);
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

/** The messages down an error's cause chain (a failed workflow wraps the activity failure that ended it). */
export function oneLineReason(error: unknown): string {
  const messages: string[] = [];
  for (let current = error; current !== undefined && messages.length < 5;) {
    const message = (current instanceof Error ? current.message : JSON.stringify(current)).split('\n')[0]!;
    if (message && !messages.includes(message)) messages.push(message);
    current = current instanceof Error ? current.cause : undefined;
  }
  return messages.join(': ');
}
