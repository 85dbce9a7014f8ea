import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { after, afterEach, describe, it } from 'node:test';
import { syntheticBodies } from '../../src/core/synthetic-events';
import { taskQueuePollers } from '../../src/drain';
import { readBodies, SAMPLE_DATA_FILE } from '../../src/seed-messages';
import { freePort, waitUntil } from '../../src/stack/readiness';
import { startCommand } from '../helpers/commands';
import { scrapeMetrics } from '../helpers/metrics';
import { createTestPipeline, type TestPipeline } from '../helpers/pipeline';

/** A worker process (as `npm run worker` runs it) serving its metrics on a port of its own. */
async function startWorkerProcess(pipeline: TestPipeline, running: ChildProcess[]) {
  const metricsAddress = `127.0.0.1:${await freePort()}`;
  running.push(startCommand('src/worker.ts', { ...pipeline.env, METRICS_ADDRESS: metricsAddress }, 'inherit'));
  await waitUntil('worker metrics', async () => (await fetch(`http://${metricsAddress}/metrics`)).ok);
  return metricsAddress;
}

describe('worker metrics and scale-out', () => {
  const pipelines: TestPipeline[] = [];
  const workers: ChildProcess[] = [];
  const pipeline = async (name: string) => {
    const created = await createTestPipeline(name);
    pipelines.push(created);
    return created;
  };
  afterEach(async () => {
    await Promise.all(
      workers.splice(0).map(
        (worker) =>
          new Promise((resolve) => {
            worker.once('exit', resolve);
            worker.kill('SIGTERM');
          }),
      ),
    );
  });
  after(async () => {
    for (const created of pipelines) await created.close();
  });

  it('the Prometheus endpoint reports the counts of a finished drain, beside the Temporal SDK metrics', async () => {
    const sample = await pipeline('metrics');
    await sample.send(readBodies(SAMPLE_DATA_FILE));
    const address = await startWorkerProcess(sample, workers);
    const summary = await sample.drain();

    const metrics = await scrapeMetrics(address);
    assert.deepEqual(
      ['received', 'loaded', 'duplicate', 'quarantined', 'deleted'].map((what) =>
        metrics.value(`login_etl_messages_${what}_total`),
      ),
      [100, 99, 0, 1, 100],
    );
    assert.equal(metrics.value('login_etl_batch_duration_seconds_count'), summary.batches);
    assert.ok(metrics.value('login_etl_batch_duration_seconds_sum') > 0);
    // The worker samples the queue's depth every 5 s.
    await waitUntil('the queue depth gauge', async () => {
      const depth = await scrapeMetrics(address);
      return depth.value('login_etl_queue_messages', { state: 'visible' }) === 0;
    });
    assert.ok(metrics.value('temporal_activity_execution_latency_count') >= 4 * summary.batches);
    // The worker's SQS calls pass its adaptive limit, which reports itself and times each operation.
    assert.ok(metrics.value('login_etl_sqs_concurrency_limit') >= 1);
    for (const operation of ['ReceiveMessage', 'DeleteMessageBatch', 'GetQueueAttributes']) {
      assert.ok(metrics.value('login_etl_sqs_call_duration_seconds_count', { operation }) > 0, operation);
    }
    assert.match(metrics.text, /^temporal_workflow_completed_total\{/m);
  });

  it('two workers share one drain, and their counts add up to the totals', async (t) => {
    const shared = await pipeline('scale-out');
    const bodies = [...syntheticBodies(3_000, { seed: 11, malformedShare: 0.02 })];
    await shared.send(bodies);
    const addresses = [await startWorkerProcess(shared, workers), await startWorkerProcess(shared, workers)];
    await waitUntil(
      'both workers polling',
      async () => (await taskQueuePollers(shared.client, shared.config, 'activity')).size === 2,
    );
    const summary = await shared.drain({ batchSize: 50, concurrency: 4 });

    const scrapes = await Promise.all(addresses.map(scrapeMetrics));
    const perWorker = (name: string) => scrapes.map((metrics) => metrics.value(`login_etl_messages_${name}_total`));
    t.diagnostic(`received per worker: ${perWorker('received').join(', ')}`);
    for (const [index, received] of perWorker('received').entries()) {
      assert.ok(received > 0, `worker ${index + 1} took part (received ${received})`);
    }
    const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
    const counts = await shared.counts();
    assert.equal(sum(perWorker('received')), summary.received);
    assert.equal(sum(perWorker('loaded')), counts.rows);
    assert.equal(sum(perWorker('quarantined')), counts.quarantined);
    assert.equal(sum(perWorker('deleted')), bodies.length);
    assert.equal(counts.rows + counts.quarantined, bodies.length, 'each message one row or one record');
    assert.deepEqual([summary.loaded, summary.quarantined], [counts.rows, counts.quarantined]);
    assert.deepEqual(await shared.queueDepth(), { visible: 0, inFlight: 0, delayed: 0 });
  });
});
