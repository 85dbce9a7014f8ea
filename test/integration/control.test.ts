import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { syntheticBodies } from '../../src/core/synthetic-events';
import { runDrain } from '../../src/drain';
import { waitUntil } from '../../src/stack/readiness';
import { DRAIN_SEARCH_ATTRIBUTES } from '../../src/workflows/search-attributes';
import { runCommand } from '../helpers/commands';
import { usePipeline } from '../helpers/pipeline';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('live control of a running drain', () => {
  const pipelineOf = usePipeline('control');

  it('pause stops new batches, resume continues, stop ends the drain after the batches in flight', async () => {
    const pipeline = pipelineOf();
    const total = 3_000;
    await pipeline.send(syntheticBodies(total, { seed: 5, malformedShare: 0.02 }));
    const workflowId = `drain-control-${randomBytes(3).toString('hex')}`;
    const control = (command: string) =>
      runCommand('src/cli/control.ts', [command, '--workflow-id', workflowId], pipeline.env);
    const stateAttribute = async () =>
      (await pipeline.client.workflow.getHandle(workflowId).describe()).typedSearchAttributes.get(
        DRAIN_SEARCH_ATTRIBUTES.state,
      );
    const processed = async () => {
      const counts = await pipeline.counts();
      return counts.rows + counts.quarantined;
    };

    const drain = runDrain(pipeline.client, pipeline.config, {
      workflowId,
      options: { batchSize: 20, concurrency: 2, emptyGraceSeconds: 1 },
    });
    await waitUntil('the drain', async () => (await processed()) >= 200, { timeoutMs: 60_000 });
    const paused = await control('pause');
    assert.equal(paused.code, 0, paused.stderr);
    assert.match(paused.stdout, /: paused; \d+ received, \d+ loaded/);
    // The batches in flight finish; then nothing moves.
    await sleep(2_000);
    const whilePaused = await processed();
    await sleep(2_000);
    assert.equal(await processed(), whilePaused, 'no batch ran while paused');
    assert.ok(whilePaused < total);
    assert.equal(await stateAttribute(), 'paused', 'the Web UI can find paused drains');

    assert.match((await control('resume')).stdout, /: running;/);
    await waitUntil('the drain', async () => (await processed()) > whilePaused + 200, { timeoutMs: 60_000 });
    // The batches in flight (two of 20) may finish before the command reads the state back: then it has completed.
    // Either way the drain ends by the stop, which the search attribute and the counts below tell.
    assert.match((await control('stop')).stdout, /: (stopping|completed);/);
    const summary = await drain;
    assert.equal(await stateAttribute(), 'stopped');
    const stopped = await processed();
    assert.equal(summary.loaded + summary.quarantined, stopped, 'the drain reports what it loaded before stopping');
    assert.ok(stopped < total, 'it stopped before the queue was empty');
    assert.ok((await pipeline.queueDepth()).visible > 0);

    // A later drain takes the rest: nothing was lost by pausing or stopping.
    await pipeline.drain({ emptyGraceSeconds: 1 });
    assert.equal(await processed(), total);
  });
});
