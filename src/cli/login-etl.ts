#!/usr/bin/env node
/**
 * The package's `bin`: `login-etl <command> [options]` runs the command `npm run <command>` runs, from the compiled
 * build (`npm run build`). Each command parses its own options and answers `--help`.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';

/** Each command: the module that runs it (relative to this build's root) and what it does, in one line. */
const COMMANDS: Record<string, { module: string; does: string }> = {
  start: { module: 'cli/demo', does: 'the demo: local stack, sample data, a worker and one drain' },
  stack: { module: 'cli/stack', does: 'the local stack in the foreground (Temporal, SQS emulator, Postgres)' },
  worker: { module: 'worker', does: "a Temporal worker for the pipeline's task queue" },
  'start-workflow': { module: 'client', does: 'starts a drain (or attaches to the running one) and waits for it' },
  control: { module: 'cli/control', does: 'pause, resume, stop or show a running drain' },
  schedule: { module: 'cli/schedule', does: 'Temporal Schedules for periodic drains' },
  seed: { module: 'cli/seed', does: 'sends the sample data or synthetic login events to the queue' },
  pii: { module: 'cli/pii', does: 'operator commands on masked PII: reveal, forget, rotate, …' },
  dlq: { module: 'cli/dlq', does: 'the dead-letter queue: list, show, redrive' },
  migrate: { module: 'cli/migrate', does: 'brings the schema up to date, as the role that owns it' },
  retention: { module: 'cli/retention', does: 'removes logins and quarantine records older than N days' },
  'codec-server': { module: 'cli/codec-server', does: 'the Temporal codec server alone' },
};

/**
 * The benchmark is not part of the build: it drives the local stack, the test packages and the fault suite's tools,
 * so it runs from the sources with tsx, as `npm run bench` does, in a development install.
 */
const BENCH = { name: 'bench', does: 'the benchmark (a development install): one queue drained four ways' };

const USAGE = `usage: login-etl <command> [options]     login-etl <command> --help

${[...Object.entries(COMMANDS), [BENCH.name, BENCH] as const]
  .map(([name, { does }]) => `  ${name.padEnd(16)}${does}`)
  .join('\n')}

Settings come from the environment: docs/configuration.md. In a development checkout each command is also
\`npm run <command> -- [options]\` (the demo is \`npm start\`).`;

const [name, ...rest] = process.argv.slice(2);
const command = name === undefined ? undefined : COMMANDS[name];
if (command) {
  // The command parses process.argv as if it had been run alone.
  process.argv.splice(2, process.argv.length - 2, ...rest);
  try {
    // A require, not import(): it resolves the module by name, compiled (.js) or under tsx (.ts).
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require(path.join(__dirname, '..', command.module));
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'MODULE_NOT_FOUND') throw error;
    // The local stack's packages (Temporal's test server, the SQS emulator, embedded Postgres) are development
    // dependencies: a production install (npm ci --omit=dev) runs the worker and the operator commands only.
    const missing = /Cannot find module '([^']+)'/.exec((error as Error).message)?.[1] ?? 'a module';
    process.stderr.write(
      `login-etl: ${name} needs ${missing}, which this install lacks: run npm install (with the development dependencies)\n`,
    );
    process.exitCode = 1;
  }
} else if (name === BENCH.name) {
  runBench(rest);
} else if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
  process.stdout.write(`${USAGE}\n`);
  process.exitCode = name === undefined ? 2 : 0;
} else {
  process.stderr.write(`login-etl: unknown command ${JSON.stringify(name)}\n\n${USAGE}\n`);
  process.exitCode = 2;
}

function runBench(args: string[]): void {
  // From dist/cli or src/cli alike, the project root is two levels up.
  const root = path.join(__dirname, '..', '..');
  let tsx: string;
  try {
    tsx = require.resolve('tsx/cli', { paths: [root] });
  } catch {
    process.stderr.write(
      'login-etl: bench needs tsx, which this install lacks: run npm install (with the development dependencies)\n',
    );
    process.exitCode = 1;
    return;
  }
  const child = spawn(process.execPath, [tsx, path.join(root, 'bench', 'run.ts'), ...args], {
    cwd: root,
    stdio: 'inherit',
  });
  child.once('exit', (code) => (process.exitCode = code ?? 1));
}
