import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Logger } from '../log';

export interface ManagedProcess {
  readonly child: ChildProcess;
  /** Resolves with the exit code (or signal) once the process has ended. */
  readonly exited: Promise<number | NodeJS.Signals>;
  /** The stop signal (SIGTERM by default), then SIGKILL if it has not ended within the grace period. */
  stop(graceMs?: number): Promise<void>;
}

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

/** Children must not outlive the stack, even when it ends by an uncaught error. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of running) child.kill('SIGKILL');
  });
}

/** Settings that hold a secret: the root, the operator key, codec keys and tokens, the Temporal API key. */
const SECRET_SETTINGS = /^(PII_|CODEC_|TEMPORAL_API_KEY$)/;

/**
 * The environment for a server the stack starts (the SQS emulator, Postgres): this process's, without a secret
 * setting, since none of them needs one and a child's environment is readable by whoever can read its process.
 */
export function serverEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const inherited = Object.entries(process.env).filter(([name]) => !SECRET_SETTINGS.test(name));
  return { ...Object.fromEntries(inherited), ...extra };
}

/** Spawns a server process whose output lines go to the component's logger. */
export function startManagedProcess(
  command: string,
  args: string[],
  options: {
    log: Logger;
    env?: NodeJS.ProcessEnv;
    cwd?: string;
    filterLine?: (line: string) => boolean;
    /** Run as another user (root only). */
    user?: { uid: number; gid: number };
    /** What stop() sends first; SIGTERM unless the server wants another. */
    stopSignal?: NodeJS.Signals;
  },
): ManagedProcess {
  installExitHook();
  const child = spawn(command, args, {
    env: options.env ?? serverEnv(),
    cwd: options.cwd,
    ...options.user,
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group: Ctrl-C reaches the stack alone, which then stops its servers in order.
    detached: true,
  });
  running.add(child);
  const keep = options.filterLine ?? (() => true);
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on('line', (line) => {
      if (line.trim() && keep(line)) options.log.info(line);
    });
  }
  const exited = new Promise<number | NodeJS.Signals>((resolve, reject) => {
    child.once('error', (error) => {
      running.delete(child);
      reject(error);
    });
    child.once('exit', (code, signal) => {
      running.delete(child);
      resolve(code ?? signal ?? 0);
    });
  });
  // A failed spawn is reported by whoever awaits `exited`; it must not be an unhandled rejection meanwhile.
  exited.catch(() => undefined);
  return {
    child,
    exited,
    async stop(graceMs = 10_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill(options.stopSignal ?? 'SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited.catch(() => undefined);
      clearTimeout(timer);
    },
  };
}
