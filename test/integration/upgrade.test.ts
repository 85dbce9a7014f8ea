import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { WorkflowHandle } from '@temporalio/client';
import { openActivityDeps } from '../../src/activities/open-deps';
import { syntheticBodies } from '../../src/core/synthetic-events';
import { createDrainSchedule } from '../../src/schedules';
import { loadWorkerKeys } from '../../src/secrets';
import { waitUntil } from '../../src/stack/readiness';
import { createPipelineWorker, type PipelineWorker } from '../../src/temporal/worker';
import { drainQueue, stopSignal } from '../../src/workflows';
import { createTestPipeline, type TestPipeline } from '../helpers/pipeline';
import { TEST_ENV } from '../helpers/test-env';

/**
 * A worker upgrade as docs/design.md ("Changing the workflow") describes it: a continuous drain and a schedule's
 * drains run on build A; build B starts beside it and makes itself current; the continuous drain continues as new
 * onto B at its next batch boundary, and the schedule's next drain starts on B; build A stops; nothing is lost or
 * loaded twice.
 */
describe('upgrading the workers (Worker Versioning)', () => {
  let pipeline: TestPipeline;
  const running: { worker: PipelineWorker; done: Promise<void>; close(): Promise<void> }[] = [];
  before(async () => (pipeline = await createTestPipeline('upgrade')));
  after(async () => {
    for (const entry of running) {
      entry.worker.shutdown();
      await entry.done.catch(() => undefined);
      await entry.close();
    }
    await pipeline.close();
  });

  /** A worker process of its own build, as a rollout starts one: its own deps, its own held-batch task queue. */
  async function startBuild(buildId: string, code: string) {
    const config = { ...pipeline.config, TEMPORAL_WORKER_BUILD_ID: buildId, METRICS_ADDRESS: 'off' };
    const deps = await openActivityDeps(config, await loadWorkerKeys(config));
    const worker = await createPipelineWorker({ config, deps, workflowBundle: { code }, identity: buildId });
    const entry = { worker, done: worker.run(), close: () => deps.close() };
    running.push(entry);
    return entry;
  }

  const buildOf = async (handle: WorkflowHandle) => {
    const { raw } = await handle.describe();
    return raw.workflowExecutionInfo?.versioningInfo?.deploymentVersion?.buildId ?? undefined;
  };

  /** Triggers the schedule and returns the build its drain ran on, once that drain has completed. */
  async function scheduledDrainBuild(schedule: Awaited<ReturnType<typeof createDrainSchedule>>) {
    const before = (await schedule.describe()).info.recentActions.length;
    await schedule.trigger();
    let workflowId = '';
    await waitUntil('the scheduled drain starts', async () => {
      const actions = (await schedule.describe()).info.recentActions;
      workflowId = actions.length > before ? actions.at(-1)!.action.workflow.workflowId : '';
      return workflowId !== '';
    });
    const handle = pipeline.client.workflow.getHandle(workflowId);
    await handle.result();
    return buildOf(handle);
  }

  it('moves a running drain and a schedule to the new build, and loses nothing', async () => {
    const code = readFileSync(process.env[TEST_ENV.bundle]!, 'utf8');
    const buildA = await startBuild('upgrade-a', code);
    const handle = await pipeline.client.workflow.start(drainQueue, {
      taskQueue: pipeline.config.TEMPORAL_TASK_QUEUE,
      workflowId: `drain-${pipeline.config.SQS_QUEUE_NAME}`,
      args: [{ options: { mode: 'continuous', batchSize: 50, searchAttributes: false } }],
    });
    const first = syntheticBodies(300, { seed: 5, malformedShare: 0 });
    await pipeline.send(first);
    await waitUntil('build A drains', async () => (await pipeline.counts()).rows === 300, { timeoutMs: 60_000 });
    assert.equal(await buildOf(handle), 'upgrade-a', 'the drain is pinned to the build that started it');
    const firstRun = (await handle.describe()).runId;
    const schedule = await createDrainSchedule(pipeline.client, pipeline.config, {
      scheduleId: `drain-${pipeline.config.SQS_QUEUE_NAME}-schedule`,
      every: '1h',
      options: { emptyGraceSeconds: 1, emptyConfirmSeconds: 1, searchAttributes: false },
    });
    assert.equal(await scheduledDrainBuild(schedule), 'upgrade-a');

    // Build B: other workflow code (here the same, marked), so another version of the deployment. The mark goes
    // first: the bundle ends with its inline source map, which the SDK decodes to the end of the file.
    await startBuild('upgrade-b', `// build b\n${code}`);
    await waitUntil('the drain continues as new onto build B', async () => (await buildOf(handle)) === 'upgrade-b', {
      timeoutMs: 60_000,
    });
    assert.notEqual((await handle.describe()).runId, firstRun, 'a new run, started on B');
    assert.equal(await scheduledDrainBuild(schedule), 'upgrade-b', "the schedule's next drain starts on B");

    buildA.worker.shutdown();
    await buildA.done;
    const second = syntheticBodies(300, { seed: 6, malformedShare: 0 });
    await pipeline.send(second);
    await waitUntil('build B drains', async () => (await pipeline.counts()).rows === 600, { timeoutMs: 60_000 });

    await handle.signal(stopSignal);
    const stats = await handle.result();
    await schedule.delete();
    assert.deepEqual(await pipeline.counts(), { rows: 600, quarantined: 0 }, 'every message loaded once');
    assert.ok(stats.loaded <= 600 && stats.duplicates === 0, 'the scheduled drains took their share, none twice');
    assert.ok(stats.runs >= 1);
    assert.deepEqual(await pipeline.queueDepth(), { visible: 0, inFlight: 0, delayed: 0 });
  });
});
