import { execFile, spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { PROJECT_ROOT } from '../../src/config';

/** A command's entry point (e.g. src/worker.ts) run as `npm run` runs it, but as one process a test can kill. */
const nodeArgs = (script: string, args: string[]) => ['--import', 'tsx', path.join(PROJECT_ROOT, script), ...args];

export function startCommand(script: string, env: NodeJS.ProcessEnv, stdio: StdioOptions = 'ignore'): ChildProcess {
  return spawn(process.execPath, nodeArgs(script, []), { env, cwd: PROJECT_ROOT, stdio });
}

/** Runs a command to its end; its exit status and output. */
export const runCommand = (script: string, args: string[], env: NodeJS.ProcessEnv) =>
  runNode(nodeArgs(script, args), env);

/** Runs Node with these arguments to its end, in the project root; its exit status and output. */
export async function runNode(args: string[], env: NodeJS.ProcessEnv) {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, args, {
      env,
      cwd: PROJECT_ROOT,
      timeout: 120_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}
