import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { readBodies, SAMPLE_DATA_FILE } from '../../src/seed-messages';
import { createMaintenanceWorker } from '../../src/temporal/maintenance-worker';
import { waitUntil } from '../../src/stack/readiness';
import { runCommand } from '../helpers/commands';
import { drainSampleWithOldLogins, usePipeline } from '../helpers/pipeline';
import { TEST_ENV } from '../helpers/test-env';

describe('scheduled drains', () => {
  const pipelineOf = usePipeline('schedule');

  it('a schedule made by the command starts a drain that empties the queue; it pauses, and it is deleted', async () => {
    const pipeline = pipelineOf();
    await pipeline.send(readBodies(SAMPLE_DATA_FILE));
    const id = `schedule-${randomBytes(3).toString('hex')}`;
    const schedule = (...args: string[]) => runCommand('src/cli/schedule.ts', [...args, '--id', id], pipeline.env);

    const created = await schedule('create', '--every', '1h');
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stdout, /every 3600 s/);
    assert.match(created.stdout, /overlap: SKIP/);
    assert.match(created.stdout, /run timeout: 3600 s/, 'a stuck run cannot block every later tick');

    const triggered = await schedule('trigger');
    assert.equal(triggered.code, 0, triggered.stderr);
    await waitUntil('the scheduled drain', async () => (await pipeline.counts()).rows === 99, { timeoutMs: 60_000 });
    assert.deepEqual(await pipeline.counts(), { rows: 99, quarantined: 1 });
    await waitUntil('the scheduled drain', async () => (await pipeline.queueDepth()).inFlight === 0, {
      timeoutMs: 30_000,
    });
    assert.deepEqual(await pipeline.queueDepth(), { visible: 0, inFlight: 0, delayed: 0 });

    const paused = await schedule('pause', '--note', 'maintenance');
    assert.match(paused.stdout, /state: paused \(maintenance\)/);
    const described = await schedule('describe');
    assert.match(described.stdout, /runs so far: 1/);
    const deleted = await schedule('delete');
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.notEqual((await schedule('describe')).code, 0, 'gone');
  });

  it('a retention schedule runs retention on the maintenance worker, audited as the schedule', async () => {
    const pipeline = pipelineOf();
    const { pool } = pipeline.deps;
    // Ten logins of two years ago, in a partition of their own month after the upkeep.
    await drainSampleWithOldLogins(pipeline, 10);
    const before = await pipeline.counts();
    const worker = await createMaintenanceWorker({
      config: pipeline.config,
      pool,
      keyring: pipeline.keyring,
      workflowBundle: { codePath: process.env[TEST_ENV.bundle]! },
    });
    const running = worker.run();
    try {
      const id = `retention-${randomBytes(3).toString('hex')}`;
      const schedule = (...args: string[]) => runCommand('src/cli/schedule.ts', [...args, '--id', id], pipeline.env);
      const created = await schedule('create-retention', '--keep-days', '365', '--every', '1d');
      assert.equal(created.code, 0, created.stderr);
      assert.match(created.stdout, /every 86400 s/);
      const triggered = await schedule('trigger');
      assert.equal(triggered.code, 0, triggered.stderr);
      const audited = async () =>
        (
          await pool.query<{ actor: string; outcome: string }>(
            "SELECT actor, outcome FROM pii_audit WHERE action = 'retention'",
          )
        ).rows;
      await waitUntil('the scheduled retention run', async () => (await audited()).length === 1, {
        timeoutMs: 60_000,
      });
      const [row] = await audited();
      assert.equal(row!.actor, `schedule ${id}`);
      assert.match(
        row!.outcome,
        /^removed 10 logins and 0 quarantine records before .* \(1 monthly partitions dropped\)/,
      );
      assert.deepEqual(await pipeline.counts(), { rows: before.rows - 10, quarantined: before.quarantined });
      assert.equal((await schedule('delete')).code, 0);
    } finally {
      worker.shutdown();
      await running;
    }
  });
});
