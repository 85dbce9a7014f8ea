import { randomBytes } from 'node:crypto';
import { after, before } from 'node:test';
import type { Client } from '@temporalio/client';
import { Client as PgClient } from 'pg';
import { loadConfig, type Config } from '../../src/config';
import type { Keyring } from '../../src/core/keys';
import { runDrain, type DrainSummary } from '../../src/drain';
import { openActivityDeps } from '../../src/activities/open-deps';
import { createPipelineWorker } from '../../src/temporal/worker';
import { loadWorkerKeys } from '../../src/secrets';
import { readBodies, SAMPLE_DATA_FILE, sendBodies } from '../../src/seed-messages';
import { ensureQueues, getQueueDepth, type QueueDepth } from '../../src/sqs';
import { connectClient } from '../../src/temporal/connect-client';
import type { DrainOptions } from '../../src/workflows/drain-options';
import { TEST_ENV } from './test-env';

type Deps = Awaited<ReturnType<typeof openActivityDeps>>;

/**
 * One test's own slice of the shared stack: its own queue (and DLQ), database and task queue, so tests
 * never see each other's messages or rows.
 */
export interface TestPipeline {
  config: Config;
  /** The environment the pipeline's commands need to work on this slice. */
  env: NodeJS.ProcessEnv;
  keyring: Keyring;
  deps: Deps;
  client: Client;
  queueUrl: string;
  send(bodies: Iterable<string>): Promise<number>;
  startWorker(): Promise<{ stop(): Promise<void> }>;
  drain(options?: Partial<DrainOptions>): Promise<DrainSummary>;
  counts(): Promise<{ rows: number; quarantined: number }>;
  queueDepth(): Promise<QueueDepth>;
  close(): Promise<void>;
}

/** A new, empty database on the test stack's Postgres; returns its URL. */
export async function createTestDatabase(name: string): Promise<string> {
  const database = `t_${name.replace(/\W/g, '_')}_${randomBytes(4).toString('hex')}`;
  const admin = new PgClient({ connectionString: process.env.DATABASE_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${database}"`);
  await admin.end();
  return Object.assign(new URL(process.env.DATABASE_URL!), { pathname: `/${database}` }).toString();
}

/** A pipeline with a running worker for the tests of one `describe`, made before them and closed after. */
export function usePipeline(name: string): () => TestPipeline {
  let pipeline: TestPipeline | undefined;
  before(async () => {
    pipeline = await createTestPipeline(name);
    await pipeline.startWorker();
  });
  after(() => pipeline?.close());
  return () => pipeline!;
}

/** A pipeline on a database of its own, or on the one given (connected as whichever role its URL names). */
export async function createTestPipeline(name: string, databaseUrl?: string): Promise<TestPipeline> {
  const id = `${name}-${randomBytes(4).toString('hex')}`;
  databaseUrl ??= await createTestDatabase(name);
  const env = { ...process.env, SQS_QUEUE_NAME: id, DATABASE_URL: databaseUrl, TEMPORAL_TASK_QUEUE: id };
  const config = loadConfig(env);
  const keys = await loadWorkerKeys(config);
  const { keyring } = keys;
  const deps = await openActivityDeps(config, keys);
  const { queueUrl } = await ensureQueues(deps.sqs, id);
  const client = await connectClient(config, keyring);
  const workers: { stop(): Promise<void> }[] = [];

  return {
    config,
    env,
    keyring,
    deps,
    client,
    queueUrl,
    send: (bodies) => sendBodies(deps.sqs, queueUrl, bodies),
    async startWorker() {
      const worker = await createPipelineWorker({
        config,
        deps,
        workflowBundle: { codePath: process.env[TEST_ENV.bundle]! },
      });
      const running = worker.run();
      const handle = {
        async stop() {
          if (worker.getState() === 'RUNNING') worker.shutdown();
          await running;
        },
      };
      workers.push(handle);
      return handle;
    },
    drain: (options) =>
      runDrain(client, config, {
        workflowId: `drain-${id}-${randomBytes(3).toString('hex')}`,
        options: { emptyGraceSeconds: 1, emptyConfirmSeconds: 1, ...options },
      }),
    async counts() {
      const { rows } = await deps.pool.query<{ rows: number; quarantined: number }>(
        `SELECT (SELECT count(*) FROM user_logins)::int AS rows, (SELECT count(*) FROM quarantined_messages)::int AS quarantined`,
      );
      return rows[0]!;
    },
    queueDepth: () => getQueueDepth(deps.sqs, queueUrl),
    async close() {
      for (const worker of workers) await worker.stop();
      await client.connection.close();
      await deps.close();
    },
  };
}

/** Drains the sample data, then moves `count` of its logins (the first by message id) two years back. */
export async function drainSampleWithOldLogins(pipeline: TestPipeline, count: number): Promise<void> {
  await pipeline.send(readBodies(SAMPLE_DATA_FILE));
  await pipeline.drain();
  await pipeline.deps.pool.query(
    `UPDATE user_logins SET create_date = create_date - 730
      WHERE message_id IN (SELECT message_id FROM user_logins ORDER BY message_id LIMIT $1)`,
    [count],
  );
}
