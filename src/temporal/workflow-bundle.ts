import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { createLogger } from '../log';
import { FAILURE_CONVERTER_PATH } from './data-converter';

const log = createLogger('bundle');

/** The workflow code as the worker's sandbox runs it (webpack), with the failure converter it needs. */
export async function bundleWorkflows(): Promise<string> {
  const { code } = await bundleWorkflowCode({
    workflowsPath: require.resolve('../workflows'),
    failureConverterPath: FAILURE_CONVERTER_PATH,
    logger: {
      trace() {},
      debug() {},
      info() {},
      warn: (message: string) => log.warn(message),
      error: (message: string) => log.error(message),
      log() {},
    },
  });
  return code;
}

/**
 * Bundles in a child process and returns the code: webpack's memory (about 140 MB that the process would keep)
 * never becomes part of the worker's.
 */
export async function bundleWorkflowsApart(): Promise<string> {
  const file = path.join(tmpdir(), `login-etl-workflows-${randomBytes(6).toString('hex')}.js`);
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, 'bundle-workflows-main.ts'), file], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', resolve);
  });
  try {
    if (code !== 0) throw new Error(`bundling the workflow code failed (exit ${code})`);
    return readFileSync(file, 'utf8');
  } finally {
    rmSync(file, { force: true });
  }
}
