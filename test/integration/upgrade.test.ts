import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { WorkflowHandle } from '@temporalio/client';
import { openActivityDeps } from '../../src/activities/open-deps';
import { syntheticBodies } from '../../src/core/synthetic-events';
import { loadWorkerKeys } from '../../src/secrets';
import { waitUntil } from '../../src/stack/readiness';
import { createPipelineWorker, type PipelineWorker } from '../../src/temporal/worker';
import { drainQueue, stopSignal } from '../../src/workflows';
import { createTestPipeline, type TestPipeline } from '../helpers/pipeline';
import { TEST_ENV } from '../helpers/test-env';

/**
 * A worker upgrade as docs/design.md ("Changing the workflow") describes it: a continuous drain runs on build A;
 * build B starts beside it and makes itself current; the drain continues as new onto B at its next batch boundary;
 * build A stops; nothing is lost or loaded twice.
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

  it('moves a running drain to the new build, and loses nothing', async () => {
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

    // Build B: other workflow code (here the same, marked), so another version of the deployment.
    await startBuild('upgrade-b', `${code}\n// build b\n`);
    await waitUntil('the drain continues as new onto build B', async () => (await buildOf(handle)) === 'upgrade-b', {
      timeoutMs: 60_000,
    });
    assert.notEqual((await handle.describe()).runId, firstRun, 'a new run, started on B');

    buildA.worker.shutdown();
    await buildA.done;
    const second = syntheticBodies(300, { seed: 6, malformedShare: 0 });
    await pipeline.send(second);
    await waitUntil('build B drains', async () => (await pipeline.counts()).rows === 600, { timeoutMs: 60_000 });

    await handle.signal(stopSignal);
    const stats = await handle.result();
    assert.equal(stats.loaded, 600, 'every message loaded once, across both builds');
    assert.equal(stats.duplicates, 0);
    assert.ok(stats.runs >= 1);
    assert.deepEqual(await pipeline.queueDepth(), { visible: 0, inFlight: 0, delayed: 0 });
  });
});
