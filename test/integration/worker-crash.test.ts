import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { syntheticBodies } from '../../src/core/synthetic-events';
import { validateLoginMessage } from '../../src/core/validate-message';
import { waitUntil } from '../../src/stack/readiness';
import { startCommand } from '../helpers/commands';
import { createTestPipeline, type TestPipeline } from '../helpers/pipeline';

describe('a worker killed in the middle of a drain', () => {
  let pipeline: TestPipeline;
  const workers: ChildProcess[] = [];
  before(async () => (pipeline = await createTestPipeline('crash')));
  after(async () => {
    for (const worker of workers) worker.kill('SIGKILL');
    await pipeline.close();
  });

  it('loses nothing and doubles nothing once another worker takes over', async () => {
    const bodies = [...syntheticBodies(3000, { seed: 42, malformedShare: 0.02 })];
    const valid = bodies.filter((body) => validateLoginMessage(body).ok).length;
    await pipeline.send(bodies);

    const first = startCommand('src/worker.ts', pipeline.env, ['ignore', 'ignore', 'inherit']);
    workers.push(first);
    const drain = pipeline.drain({ batchSize: 50, visibilityTimeoutSeconds: 10 });
    await waitUntil('the drain', async () => (await pipeline.counts()).rows >= 500, { timeoutMs: 120_000 });
    first.kill('SIGKILL');

    workers.push(startCommand('src/worker.ts', pipeline.env, ['ignore', 'ignore', 'inherit']));
    const summary = await drain;

    const counts = await pipeline.counts();
    assert.deepEqual(counts, { rows: valid, quarantined: bodies.length - valid }, 'each message one row or one record');
    const { rows } = await pipeline.deps.pool.query<{ distinct: number }>(
      'SELECT count(DISTINCT message_id)::int AS distinct FROM user_logins',
    );
    assert.equal(rows[0]!.distinct, valid);
    assert.deepEqual(await pipeline.queueDepth(), { visible: 0, inFlight: 0, delayed: 0 });
    assert.equal(summary.loaded + summary.quarantined, bodies.length);
    assert.ok(summary.received >= bodies.length);
  });
});
