import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { openActivityDeps } from '../../src/activities/open-deps';
import { loadConfig } from '../../src/config';
import { createKeyring } from '../../src/core/keys';
import { syntheticBodies } from '../../src/core/synthetic-events';
import { drainStartOptions } from '../../src/drain';
import { rotateRoot } from '../../src/pii/rotate';
import { loadOpeningKeys, loadWorkerKeys } from '../../src/secrets';
import { waitUntil } from '../../src/stack/readiness';
import { connectClient } from '../../src/temporal/connect-client';
import { createPipelineWorker } from '../../src/temporal/worker';
import { drainQueue, pauseSignal, resumeSignal } from '../../src/workflows';
import { createTestPipeline } from '../helpers/pipeline';
import { TEST_ENV } from '../helpers/test-env';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The procedure docs/pii-and-keys.md gives for a leaked root: pause the drains, `pii rotate-root`, restart the workers with
 * the new root (and the old root's codec key, to read what Temporal kept from before), resume. A drain paused on
 * the old root must finish on the new one: its history, written under the old codec key, is replayed by workers
 * that no longer hold the old root.
 */
describe('a drain paused across a root rotation', () => {
  it('finishes on workers of the new root, which read its history with the old codec key alone', async () => {
    const pipeline = await createTestPipeline('root-drain');
    const total = 2_000;
    try {
      const worker = await pipeline.startWorker();
      await pipeline.send(syntheticBodies(total, { seed: 11, malformedShare: 0.02 }));
      const workflowId = `drain-root-${randomBytes(3).toString('hex')}`;
      await pipeline.client.workflow.start(drainQueue, {
        taskQueue: pipeline.config.TEMPORAL_TASK_QUEUE,
        workflowId,
        ...(await drainStartOptions(pipeline.client, pipeline.config, {
          batchSize: 20,
          concurrency: 2,
          emptyGraceSeconds: 1,
          emptyConfirmSeconds: 1,
        })),
      });
      const processed = async () => {
        const counts = await pipeline.counts();
        return counts.rows + counts.quarantined;
      };
      await waitUntil('the drain under way', async () => (await processed()) >= 100);
      await pipeline.client.workflow.getHandle(workflowId).signal(pauseSignal);
      // The batches in flight finish, then nothing moves: no batch is held when the worker goes.
      let settled = -1;
      await waitUntil('the paused drain settled', async () => {
        const now = await processed();
        const same = now === settled;
        settled = now;
        if (!same) await sleep(1_000);
        return same;
      });
      assert.ok(settled < total);
      await worker.stop();

      const previousCodecKeys = path.join(mkdtempSync(path.join(tmpdir(), 'codec-keys-')), 'previous');
      writeFileSync(previousCodecKeys, `${pipeline.keyring.codec.key.toString('hex')}\n`, { mode: 0o600 });
      const newRoot = randomBytes(32).toString('hex');
      const moved = await rotateRoot(
        pipeline.deps.pool,
        await loadOpeningKeys(pipeline.config),
        createKeyring(Buffer.from(newRoot, 'utf8')),
        { actor: 'ops', reason: 'root leaked' },
      );
      assert.ok(moved.toVersion > 1);

      const config = loadConfig({ ...pipeline.env, PII_HMAC_KEY: newRoot, CODEC_PREVIOUS_KEY_FILE: previousCodecKeys });
      const keys = await loadWorkerKeys(config);
      const deps = await openActivityDeps(config, keys);
      const client = await connectClient(config, keys.keyring);
      const newWorker = await createPipelineWorker({
        config,
        deps,
        workflowBundle: { codePath: process.env[TEST_ENV.bundle]! },
      });
      const running = newWorker.run();
      try {
        const handle = client.workflow.getHandle<typeof drainQueue>(workflowId);
        await handle.signal(resumeSignal);
        const stats = await Promise.race([
          handle.result(),
          sleep(90_000).then(() => {
            throw new Error('the drain did not finish on the new root within 90 s');
          }),
        ]);
        assert.equal(await processed(), total, 'every message became a row or a quarantine record');
        assert.equal(stats.loaded + stats.quarantined, total);
      } finally {
        newWorker.shutdown();
        await running;
        await client.connection.close();
        await deps.close();
      }
    } finally {
      await pipeline.close();
    }
  });
});
