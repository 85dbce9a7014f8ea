import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { bundleWorkflowCode, type WorkflowBundleOption } from '@temporalio/worker';
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
 * Where `npm run build` writes the bundle: beside the compiled code (dist/workflow-bundle.js), so a worker run from
 * dist/ starts without webpack. Run from src/ (tsx), there is none and the code is bundled at start.
 */
export const PREBUILT_BUNDLE = path.join(__dirname, '..', 'workflow-bundle.js');

/** The workflow code for a worker: the prebuilt bundle when there is one, or bundled now, in a child process. */
export async function workflowCode(): Promise<WorkflowBundleOption> {
  if (!existsSync(PREBUILT_BUNDLE)) return { code: await bundleWorkflowsApart() };
  log.info('workflow code from the build', { file: PREBUILT_BUNDLE });
  return { codePath: PREBUILT_BUNDLE };
}

/**
 * Bundles in a child process and returns the code: webpack's memory (about 140 MB that the process would keep)
 * never becomes part of the worker's.
 */
async function bundleWorkflowsApart(): Promise<string> {
  const file = path.join(tmpdir(), `login-etl-workflows-${randomBytes(6).toString('hex')}.js`);
  const main = path.join(__dirname, `bundle-workflows-main${path.extname(__filename)}`);
  const child = spawn(process.execPath, [...(main.endsWith('.ts') ? ['--import', 'tsx'] : []), main, file], {
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
