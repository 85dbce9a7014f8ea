import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { syntheticBodies } from '../../src/core/synthetic-events';
import { readBodies, SAMPLE_DATA_FILE } from '../../src/seed-messages';
import { runCommand, startCommand } from '../helpers/commands';
import { usePipeline } from '../helpers/pipeline';
import { drainQueue } from '../../src/workflows';

const lastLine = (text: string) => text.trim().split('\n').at(-1) ?? '';

describe('commands', () => {
  const pipelineOf = usePipeline('commands');

  it('start-workflow --json drains and ends with the JSON summary', async () => {
    const pipeline = pipelineOf();
    await pipeline.send(readBodies(SAMPLE_DATA_FILE));
    const result = await runCommand('src/client.ts', ['--json', '--grace-seconds', '1'], pipeline.env);
    assert.equal(result.code, 0, result.stderr);
    const summary = JSON.parse(lastLine(result.stdout)) as Record<string, unknown>;
    assert.equal(summary.workflowId, `drain-${pipeline.config.SQS_QUEUE_NAME}`);
    assert.equal(typeof summary.runId, 'string');
    assert.deepEqual(
      [summary.received, summary.loaded, summary.duplicates, summary.quarantined, summary.deleted],
      [100, 99, 0, 1, 100],
    );
  });

  it('start-workflow --max-messages-per-second 200 takes 3,000 messages in no less than 13.5 s, each loaded once', async () => {
    const pipeline = pipelineOf();
    const before = await pipeline.counts();
    await pipeline.send([...syntheticBodies(3_000, { seed: 25, malformedShare: 0 })]);
    const args = ['--json', '--grace-seconds', '1', '--max-messages-per-second', '200'];
    const started = Date.now();
    const result = await runCommand('src/client.ts', args, pipeline.env);
    const seconds = (Date.now() - started) / 1000;
    assert.equal(result.code, 0, result.stderr);
    const summary = JSON.parse(lastLine(result.stdout)) as Record<string, number>;
    assert.deepEqual([summary.received, summary.loaded, summary.duplicates], [3_000, 3_000, 0]);
    assert.deepEqual(await pipeline.counts(), { rows: before.rows + 3_000, quarantined: before.quarantined });
    assert.ok(seconds >= 13.5, `capped at 200/s, 3,000 messages took ${seconds.toFixed(1)} s`);
    assert.ok(seconds < 40, `and not much longer: ${seconds.toFixed(1)} s`);
    assert.deepEqual(await pipeline.queueDepth(), { visible: 0, inFlight: 0, delayed: 0 });
  });

  it('a worker capped by WORKER_MAX_MESSAGES_PER_SECOND=200 takes 1,000 messages in no less than 4.5 s', async () => {
    const pipeline = pipelineOf();
    await pipeline.send([...syntheticBodies(1_000, { seed: 26, malformedShare: 0 })]);
    // A worker of its own, on a task queue of its own: the pipeline's in-process worker is not capped.
    const env = { ...pipeline.env, TEMPORAL_TASK_QUEUE: `capped-${Date.now()}`, WORKER_MAX_MESSAGES_PER_SECOND: '200' };
    const worker = startCommand('src/worker.ts', env);
    try {
      const started = Date.now();
      const result = await runCommand('src/client.ts', ['--json', '--grace-seconds', '1'], env);
      const seconds = (Date.now() - started) / 1000;
      assert.equal(result.code, 0, result.stderr);
      assert.equal((JSON.parse(lastLine(result.stdout)) as Record<string, number>).loaded, 1_000);
      assert.ok(seconds >= 4.5, `capped at 200/s, 1,000 messages took ${seconds.toFixed(1)} s`);
    } finally {
      worker.kill('SIGTERM');
    }
  });

  it('start-workflow --drains 2 runs two drains of one queue, and control reaches both', async () => {
    const pipeline = pipelineOf();
    const before = await pipeline.counts();
    await pipeline.send(syntheticBodies(600, { seed: 11, malformedShare: 0.02 }));
    const args = ['--drains', '2', '--batch-size', '20', '--json', '--grace-seconds', '1'];
    const result = await runCommand('src/client.ts', args, pipeline.env);
    assert.equal(result.code, 0, result.stderr);
    const summary = JSON.parse(lastLine(result.stdout)) as Record<string, number | string>;
    const ids = [1, 2].map((i) => `drain-${pipeline.config.SQS_QUEUE_NAME}-${i}`);
    assert.equal(summary.workflowId, ids.join(','));
    assert.equal(Number(summary.loaded) + Number(summary.quarantined), 600, 'the two together took every message');
    assert.deepEqual(await pipeline.counts(), {
      rows: before.rows + Number(summary.loaded),
      quarantined: before.quarantined + Number(summary.quarantined),
    });
    const status = await runCommand('src/cli/control.ts', ['status', '--drains', '2'], pipeline.env);
    assert.equal(status.code, 0, status.stderr);
    for (const id of ids) assert.match(status.stdout, new RegExp(`^${id}: completed; \\d+ received`, 'm'));
  });

  it('start-workflow prints plain progress lines with the queue depth and an ETA when not on a terminal', async () => {
    const pipeline = pipelineOf();
    // Small batches one at a time: a drain of some seconds, long enough for a few progress lines.
    await pipeline.send(syntheticBodies(400, { seed: 9, malformedShare: 0.02 }));
    const args = ['--batch-size', '10', '--concurrency', '1', '--grace-seconds', '1'];
    const result = await runCommand('src/client.ts', args, pipeline.env);
    assert.equal(result.code, 0, result.stderr);
    assert.match(
      result.stderr,
      /^\d+ received, \d+ loaded, .* msg\/s, \d+ s\); queue \d+ waiting, \d+ in flight, ETA \d+ s$/m,
    );
    assert.ok(!result.stderr.includes('\r'), 'no terminal control characters in a log');
  });

  it('seed --count sends synthetic events', async () => {
    const pipeline = pipelineOf();
    const result = await runCommand('src/cli/seed.ts', ['--count', '25'], pipeline.env);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^sent 25 messages/);
    assert.equal((await pipeline.queueDepth()).visible, 25);
  });

  it('a bad setting stops a command at start with one line naming it', async () => {
    const pipeline = pipelineOf();
    for (const script of ['src/worker.ts', 'src/client.ts', 'src/cli/seed.ts']) {
      const result = await runCommand(script, [], { ...pipeline.env, TEMPORAL_ADDRESS: 'no-port-here' });
      assert.notEqual(result.code, 0);
      assert.equal(lastLine(result.stderr), 'login-etl: invalid setting TEMPORAL_ADDRESS: must be host:port');
    }
  });

  it('control works with the codec key alone, without the PII root', async () => {
    const pipeline = pipelineOf();
    const workflowId = `drain-${pipeline.config.SQS_QUEUE_NAME}`;
    await pipeline.client.workflow.execute(drainQueue, {
      taskQueue: pipeline.config.TEMPORAL_TASK_QUEUE,
      workflowId,
      args: [{ options: { emptyGraceSeconds: 1, emptyConfirmSeconds: 1 } }],
    });
    const codecKeyFile = path.join(mkdtempSync(path.join(tmpdir(), 'codec-')), 'codec-key');
    writeFileSync(codecKeyFile, pipeline.keyring.codec.key.toString('hex'), { mode: 0o600 });
    const env = {
      ...pipeline.env,
      PII_HMAC_KEY: undefined,
      LOGIN_ETL_DEV_KEYS: undefined,
      NODE_ENV: 'production',
      CODEC_KEY_FILE: codecKeyFile,
    };
    const result = await runCommand('src/cli/control.ts', ['status', '--workflow-id', workflowId], env);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, new RegExp(`^${workflowId}: completed`, 'm'));
    const withoutCodecKey = await runCommand('src/cli/control.ts', ['status'], { ...env, CODEC_KEY_FILE: undefined });
    assert.match(lastLine(withoutCodecKey.stderr), /^login-etl: no PII root key/, 'nor a key of its own making');
  });

  it('a production worker without a root key stops with one line naming the three settings, and writes no file', async () => {
    const pipeline = pipelineOf();
    const dataDir = path.join(mkdtempSync(path.join(tmpdir(), 'login-etl-')), 'data');
    // Unset variables (undefined) are not passed on to the child.
    const withoutKeys = { ...pipeline.env, PII_HMAC_KEY: undefined, LOGIN_ETL_DEV_KEYS: undefined };
    const environments = {
      'NODE_ENV=production on the local stack': { ...withoutKeys, DATABASE_URL: undefined, NODE_ENV: 'production' },
      'a database on another machine': {
        ...withoutKeys,
        DATABASE_URL: 'postgres://etl@db.example.invalid:5432/logins',
      },
    };
    for (const [where, env] of Object.entries(environments)) {
      const result = await runCommand('src/worker.ts', [], { ...env, LOGIN_ETL_DATA_DIR: dataDir });
      assert.notEqual(result.code, 0, where);
      assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
      assert.match(result.stderr, /^login-etl: no PII root key: set PII_HMAC_KEY, PII_KEY_FILE or PII_KMS_WRAPPED_KEY/);
      assert.ok(!existsSync(dataDir), `${where}: nothing is written`);
    }
  });

  it('a worker whose metrics port is taken stops at start with one line naming the setting', async () => {
    const pipeline = pipelineOf();
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    try {
      const address = `127.0.0.1:${(taken.address() as AddressInfo).port}`;
      const result = await runCommand('src/worker.ts', [], { ...pipeline.env, METRICS_ADDRESS: address });
      assert.notEqual(result.code, 0);
      assert.match(
        lastLine(result.stderr),
        new RegExp(`^login-etl: invalid setting METRICS_ADDRESS: cannot serve metrics on ${address} \\(.*in use`),
      );
    } finally {
      taken.close();
    }
  });

  it('a drain of a queue that does not exist fails at once with a one-line reason', async () => {
    const pipeline = pipelineOf();
    const env = { ...pipeline.env, SQS_QUEUE_NAME: 'no-such-queue', TEMPORAL_TASK_QUEUE: `missing-${Date.now()}` };
    const worker = startCommand('src/worker.ts', env);
    try {
      const result = await runCommand('src/client.ts', [], env);
      assert.equal(result.code, 1);
      assert.match(lastLine(result.stderr), /^login-etl: .*SQS queue no-such-queue does not exist/);
    } finally {
      worker.kill('SIGKILL');
    }
  });
});
