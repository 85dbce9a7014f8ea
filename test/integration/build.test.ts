import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { PROJECT_ROOT } from '../../src/config';
import { readBodies, SAMPLE_DATA_FILE } from '../../src/seed-messages';
import { waitUntil } from '../../src/stack/readiness';
import { WORKER_NODE_FLAGS } from '../../src/temporal/worker-node-flags';
import { runNode } from '../helpers/commands';
import { createTestPipeline, type TestPipeline } from '../helpers/pipeline';

const run = promisify(execFile);
const BIN = path.join(PROJECT_ROOT, 'dist', 'cli', 'login-etl.js');
const lastLine = (text: string) => text.trim().split('\n').at(-1) ?? '';

/** `login-etl <args>` from the build, as the package's bin runs it; its exit status and output. */
const loginEtl = (args: string[], env: NodeJS.ProcessEnv) => runNode([BIN, ...args], env);

describe('the compiled build (npm run build)', () => {
  let pipeline: TestPipeline;
  let worker: ChildProcess | undefined;
  before(async () => {
    await run('npm', ['run', 'build'], { cwd: PROJECT_ROOT, timeout: 180_000 });
    pipeline = await createTestPipeline('build');
  });
  after(async () => {
    worker?.kill('SIGKILL');
    await pipeline?.close();
  });

  it('login-etl --help lists every command, and a command refuses an option it does not know', async () => {
    const help = await loginEtl(['--help'], pipeline.env);
    assert.equal(help.code, 0);
    const commands = [
      'start',
      'stack',
      'worker',
      'start-workflow',
      'control',
      'schedule',
      'seed',
      'pii',
      'dlq',
      'bench',
    ];
    for (const command of commands) {
      assert.match(help.stdout, new RegExp(`^  ${command} `, 'm'), command);
    }
    for (const command of ['migrate', 'codec-server', 'worker', 'seed', 'dlq']) {
      const usage = await loginEtl([command, '--help'], pipeline.env);
      assert.equal(usage.code, 0, `${command} --help`);
      assert.match(usage.stdout, /^usage: /, `${command} --help`);
    }
    const refused = await loginEtl(['migrate', '--no-such-option'], pipeline.env);
    assert.equal(refused.code, 1);
    assert.match(lastLine(refused.stderr), /^login-etl: Unknown option '--no-such-option'/);
    const unknown = await loginEtl(['no-such-command'], pipeline.env);
    assert.equal(unknown.code, 2);
  });

  it('a worker run from dist/ loads the prebuilt workflow bundle and drains the sample', async () => {
    let output = '';
    worker = spawn(process.execPath, [...WORKER_NODE_FLAGS, BIN, 'worker'], { env: pipeline.env, cwd: PROJECT_ROOT });
    for (const stream of [worker.stdout!, worker.stderr!])
      stream.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await waitUntil('the worker polls', () => Promise.resolve(output.includes('polling')), { timeoutMs: 60_000 });
    assert.match(output, /workflow code from the build/, 'no webpack at start');

    await pipeline.send(readBodies(SAMPLE_DATA_FILE));
    const result = await loginEtl(['start-workflow', '--json', '--grace-seconds', '1'], pipeline.env);
    assert.equal(result.code, 0, result.stderr);
    const summary = JSON.parse(lastLine(result.stdout)) as Record<string, number>;
    assert.deepEqual([summary.received, summary.loaded, summary.quarantined], [100, 99, 1]);

    const exited = new Promise((resolve) => worker!.once('exit', resolve));
    worker.kill('SIGTERM');
    assert.equal(await exited, 0, 'SIGTERM stops it cleanly');
  });
});
