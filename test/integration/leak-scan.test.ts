import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { readBodies, SAMPLE_DATA_FILE } from '../../src/seed-messages';
import { createPayloadCodec } from '../../src/temporal/data-converter';
import { runCommand, startCommand } from '../helpers/commands';
import { allHistoryText } from '../../tools/history';
import { dumpTables, findLeaks, rawPiiValues } from '../helpers/pii';
import { createTestPipeline, type TestPipeline } from '../helpers/pipeline';
import { TEST_ENV } from '../helpers/test-env';

const stackLogFile = () => process.env[TEST_ENV.stackLog]!;

describe('raw PII outside the vault', () => {
  let pipeline: TestPipeline;
  let worker: ChildProcess | undefined;
  before(async () => (pipeline = await createTestPipeline('leaks')));
  after(async () => {
    worker?.kill('SIGKILL');
    await pipeline.close();
  });

  it('is nowhere after a drain of the sample data: not in tables, logs of the run, or history, decoded or not', async () => {
    const raw = rawPiiValues(readBodies(SAMPLE_DATA_FILE));
    assert.equal(raw.length, 198);
    const stackLogStart = statSync(stackLogFile()).size;
    // Every component at its most talkative, in both log formats.
    const env = { ...pipeline.env, LOG_LEVEL: 'debug', LOG_FORMAT: 'json' };

    let workerLog = '';
    worker = startCommand('src/worker.ts', env, ['ignore', 'pipe', 'pipe']);
    worker.stdout!.on('data', (chunk: Buffer) => (workerLog += chunk.toString()));
    worker.stderr!.on('data', (chunk: Buffer) => (workerLog += chunk.toString()));
    const seed = await runCommand('src/cli/seed.ts', [], { ...env, LOG_FORMAT: 'text' });
    assert.equal(seed.code, 0, seed.stderr);
    const drain = await runCommand('src/client.ts', ['--json', '--grace-seconds', '1'], env);
    assert.equal(drain.code, 0, drain.stderr);
    const summary = JSON.parse(drain.stdout.trim().split('\n').at(-1)!) as { workflowId: string; loaded: number };
    assert.equal(summary.loaded, 99);
    const exited = new Promise((resolve) => worker!.once('exit', resolve));
    worker.kill('SIGTERM');
    await exited;

    const logs = [
      seed.stdout,
      seed.stderr,
      drain.stdout,
      drain.stderr,
      workerLog,
      readFileSync(stackLogFile(), 'utf8').slice(stackLogStart),
    ].join('\n');
    assert.match(workerLog, /"msg":"loaded"/, 'the worker logged each batch');
    const { rows } = await pipeline.deps.pool.query<{ name: string }>(
      `SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' AND table_name <> 'pii_vault'`,
    );
    assert.ok(rows.length >= 6, 'every table but the vault is searched');
    const tables = await dumpTables(pipeline.deps.pool, { except: ['pii_vault'] });
    const history = await allHistoryText(pipeline.client, summary.workflowId, createPayloadCodec(pipeline.keyring));
    assert.match(history, /"loaded":99/, 'the decoded payloads are searched');

    assert.deepEqual(findLeaks(tables, raw), [], 'tables');
    assert.deepEqual(findLeaks(logs, raw), [], 'logs');
    assert.deepEqual(findLeaks(history, raw), [], 'history');
    const vault = await pipeline.deps.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM pii_vault');
    assert.equal(vault.rows[0]!.n, 198, 'the values are kept, sealed, in the vault');
  });
});
