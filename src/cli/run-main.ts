import { parseArgs } from 'node:util';
import { scrub } from '../log';

/** Runs a command: a failure ends it with one line naming what is wrong, and a non-zero status. */
export function runMain(main: () => Promise<number | void>): void {
  main().then(
    (code) => process.exit(code ?? 0),
    (error: unknown) => {
      const misused = String((error as { code?: unknown } | undefined)?.code).startsWith('ERR_PARSE_ARGS');
      process.stderr.write(`${failureLine(error)}${misused ? ' (--help shows the usage)' : ''}\n`);
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

/** What a failed command prints: its reason in one line, with any IP address in it replaced (log redaction's rule). */
export const failureLine = (error: unknown): string => `login-etl: ${scrub(oneLineReason(error))}`;

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

/**
 * The one subcommand word of a command line, or the exit status after printing the usage (asked for with --help,
 * or no subcommand given).
 */
export function subcommand(
  usage: string,
  parsed: { values: { help?: boolean }; positionals: string[] },
): string | number {
  const [command, ...extra] = parsed.positionals;
  if (parsed.values.help || command === undefined) {
    process.stdout.write(`${usage}\n`);
    return parsed.values.help ? 0 : 2;
  }
  if (extra.length) throw new Error(`unexpected argument ${extra[0]}`);
  return command;
}

/** `--help` (`-h`): every command's. */
export const HELP_OPTION = { help: { type: 'boolean', short: 'h' } } as const;

/** `--drains N`: start-workflow, control and schedule act on the N drains of a queue (drain-<queue>-1 … -N). */
export const DRAINS_OPTION = { drains: { type: 'string' } } as const;

/**
 * What a command acts on: the one named by `--<idOption>`, or those of `--drains N` (`ofDrains`), never both.
 */
export function oneOrMany(
  idOption: string,
  id: string | undefined,
  drains: string | undefined,
  ofDrains: (drains: number | undefined) => string[],
): string[] {
  if (id !== undefined && drains !== undefined) throw new Error(`choose one of --drains and --${idOption}`);
  return id !== undefined ? [id] : ofDrains(wholeNumber('drains', drains));
}

/** An option that must be a whole number, or undefined when it was not given. */
export function wholeNumber(option: string, value: string | boolean | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !/^\d+$/.test(value)) throw new Error(`--${option} must be a whole number`);
  return Number(value);
}

/**
 * For a command without options: true when `--help` asked for its usage, which is printed; any other argument is
 * refused (a one-line error), so a mistyped option is never silently ignored.
 */
export function helpAsked(usage: string): boolean {
  const { values } = parseArgs({ options: HELP_OPTION });
  if (values.help) process.stdout.write(`${usage}\n`);
  return values.help === true;
}
