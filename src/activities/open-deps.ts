import type { Config } from '../config';
import { Pace } from '../core/pace';
import { migrate } from '../db/migrate';
import { createPool } from '../db/pool';
import { claimKeyState, createKeyVersionCache } from '../pii/key-state';
import { createSqsClient, rememberedUrl, resolveQueueUrl } from '../sqs';
import { SqsGate } from '../sqs/gate';
import type { WorkerKeys } from '../secrets';
import type { ActivityDeps } from './deps';
import { heldBatchTaskQueue, HeldBatches } from './held-batches';

/** Opens the activities' clients (the schema migrated, the root key checked against the database's), and how to close them. */
export async function openActivityDeps(
  config: Config,
  { keyring, sealTo }: WorkerKeys,
  poolSize = config.DATABASE_POOL_SIZE,
): Promise<ActivityDeps & { close(): Promise<void> }> {
  const sqsGate = new SqsGate();
  const sqs = createSqsClient(config, sqsGate);
  const pool = createPool(config, poolSize);
  let activeVersion: number;
  try {
    await migrate(pool);
    activeVersion = await claimKeyState(pool, keyring);
  } catch (error) {
    sqs.destroy();
    await pool.end();
    throw error;
  }
  const held = new HeldBatches(sqs, heldBatchTaskQueue(config.TEMPORAL_TASK_QUEUE));
  return {
    sqs,
    sqsGate,
    pool,
    keyring,
    sealTo,
    held,
    keyVersion: createKeyVersionCache(pool, activeVersion),
    ...(config.WORKER_MAX_MESSAGES_PER_SECOND && { receivePace: new Pace(config.WORKER_MAX_MESSAGES_PER_SECOND) }),
    queueUrl: rememberedUrl(() => resolveQueueUrl(sqs, config)),
    async close() {
      // The worker has stopped: what it still holds goes back to the queue now rather than when its lease ends.
      await held.giveUpAll('the worker stopped');
      sqs.destroy();
      await pool.end();
    },
  };
}
