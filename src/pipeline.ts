import { NativeConnection, Runtime, DefaultLogger, Worker, type WorkflowBundleOption } from '@temporalio/worker';
import { ConfigError, type Config } from './config';
import type { Keyring } from './core/keys';
import { claimKeyState, createKeyVersionCache } from './pii/key-state';
import { createPool } from './db/pool';
import { migrate } from './db/migrate';
import { createActivities, type ActivityDeps } from './activities';
import { BATCH_DURATION_BUCKETS, PIPELINE_METRICS, recordQueueDepth } from './metrics';
import { createSqsClient, getQueueDepth, resolveQueueUrl } from './sqs';
import { connectionError, temporalConnectionOptions } from './temporal/connection-options';
import { createDataConverter } from './temporal/data-converter';
import { bundleWorkflowsApart } from './temporal/workflow-bundle';
import { createLogger } from './log';

/** Clients for the activities, and how to close them. */
export async function openActivityDeps(
  config: Config,
  keyring: Keyring,
  poolSize = config.DATABASE_POOL_SIZE,
): Promise<ActivityDeps & { close(): Promise<void> }> {
  const sqs = createSqsClient(config);
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
  let queueUrl: Promise<string> | undefined;
  return {
    sqs,
    pool,
    keyring,
    keyVersion: createKeyVersionCache(pool, activeVersion),
    queueUrl: () => {
      queueUrl ??= resolveQueueUrl(sqs, config).catch((error: unknown) => {
        queueUrl = undefined;
        throw error;
      });
      return queueUrl;
    },
    async close() {
      sqs.destroy();
      await pool.end();
    },
  };
}

let runtimeInstalled = false;

/**
 * Routes the Temporal runtime's own logs through ours, warnings and up, so they read like the rest, and serves
 * Prometheus metrics (the SDK's and the pipeline's) on `metricsAddress`. Once per process: the first call decides.
 */
export function installTemporalRuntime(metricsAddress?: string): void {
  if (runtimeInstalled) return;
  const log = createLogger('temporal-sdk');
  const logger = new DefaultLogger('WARN', ({ level, message, meta }) => {
    if (level === 'ERROR') log.error(message, meta);
    else log.warn(message, meta);
  });
  try {
    Runtime.install({
      logger,
      ...(metricsAddress && {
        telemetryOptions: {
          metrics: {
            prometheus: {
              bindAddress: metricsAddress,
              countersTotalSuffix: true,
              useSecondsForDurations: true,
              histogramBucketOverrides: { [PIPELINE_METRICS.batchDuration.name]: BATCH_DURATION_BUCKETS },
            },
          },
        },
      }),
    });
  } catch (error) {
    if (!metricsAddress) throw error;
    throw new ConfigError(
      `invalid setting METRICS_ADDRESS: cannot serve metrics on ${metricsAddress} (${(error as Error).message}); ` +
        'give each worker on this host its own port, or set it to off',
    );
  }
  runtimeInstalled = true;
}

/** Samples the queue's depth into the `login_etl_queue_messages` gauge until stopped, drain or no drain. */
export function sampleQueueDepth(deps: ActivityDeps, intervalMs = 5_000): () => void {
  const meter = Runtime.instance().metricMeter;
  // A failed sample (SQS unreachable) leaves the last values; the drain itself reports the outage.
  const sample = () =>
    void deps
      .queueUrl()
      .then((queueUrl) => getQueueDepth(deps.sqs, queueUrl))
      .then((depth) => recordQueueDepth(meter, depth))
      .catch(() => undefined);
  sample();
  const timer = setInterval(sample, intervalMs);
  return () => clearInterval(timer);
}

/**
 * Node flags for a worker process (`npm run worker` passes the same): 4 MB semi-spaces and a 200 MB old space keep
 * the worker's RSS flat under 300 MB at full speed (docs/PERFORMANCE.md). Far larger batches or concurrency need
 * a larger old space.
 */
export const WORKER_NODE_FLAGS = ['--max-semi-space-size=4', '--max-old-space-size=200'];

/** A stopping worker exits within WORKER_SHUTDOWN_FORCE of SIGTERM (see README, Reliability). */
export const WORKER_SHUTDOWN_GRACE = '10 seconds';
export const WORKER_SHUTDOWN_FORCE = '20 seconds';

export interface PipelineWorkerOptions {
  config: Config;
  deps: ActivityDeps;
  connection?: NativeConnection;
  /** A prebuilt bundle (tests share one); by default the workflows are bundled at start, in a child process. */
  workflowBundle?: WorkflowBundleOption;
  identity?: string;
}

async function connectWorker(config: Config): Promise<NativeConnection> {
  const options = temporalConnectionOptions(config);
  return NativeConnection.connect(options).catch((error: unknown) => {
    throw connectionError(options, error);
  });
}

export async function createPipelineWorker(options: PipelineWorkerOptions): Promise<Worker> {
  installTemporalRuntime(options.config.metricsAddress);
  const connection = options.connection ?? (await connectWorker(options.config));
  return Worker.create({
    connection,
    namespace: options.config.TEMPORAL_NAMESPACE,
    taskQueue: options.config.TEMPORAL_TASK_QUEUE,
    ...(options.identity ? { identity: options.identity } : {}),
    dataConverter: createDataConverter(options.deps.keyring),
    // On SIGTERM: short activities finish; a receive still long-polling is cancelled and hands its messages back.
    shutdownGraceTime: WORKER_SHUTDOWN_GRACE,
    shutdownForceTime: WORKER_SHUTDOWN_FORCE,
    activities: createActivities(options.deps),
    workflowBundle: options.workflowBundle ?? { code: await bundleWorkflowsApart() },
  });
}
