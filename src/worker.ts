import { openActivityDeps } from './activities/open-deps';
import { parseArgs } from 'node:util';
import { HELP_OPTION, runMain } from './cli/run-main';
import { loadConfig, type Config } from './config';
import { createPool } from './db/pool';
import { createLogger } from './log';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { Readiness, startHealthEndpoints } from './metrics/health-endpoints';
import { sampleQueueDepth } from './metrics/sample-queue-depth';
import { rememberedUrl, resolveDeadLetterQueueUrl } from './sqs';
import { loadClientKeys, loadWorkerKeys } from './secrets';
import { createMaintenanceWorker } from './temporal/maintenance-worker';
import { maintenanceTaskQueue } from './workflows/retain-data';
import { createPipelineWorker } from './temporal/worker';

const log = createLogger('worker');

const metricsUrl = (address: string | undefined) => (address === undefined ? 'off' : `http://${address}/metrics`);

const USAGE = `usage: npm run worker [-- --maintenance]   (login-etl worker)

A Temporal worker for the pipeline's task queue (TEMPORAL_TASK_QUEUE): the drain workflow and its activities.
--maintenance: instead, the worker of scheduled retention runs (npm run schedule -- create-retention), on
TEMPORAL_TASK_QUEUE-maintenance; its DATABASE_URL is the schema owner's, which pipeline workers never hold.
Settings come from the environment (docs/configuration.md); SIGTERM or Ctrl-C stops it within 20 s.`;

/** The maintenance worker: retention runs with the owner's connection, and nothing of the pipeline. */
async function runMaintenanceWorker(config: Config): Promise<void> {
  const pool = createPool(config, 2);
  try {
    const worker = await createMaintenanceWorker({ config, pool, keyring: await loadClientKeys(config) });
    log.info('polling', { address: config.TEMPORAL_ADDRESS, taskQueue: maintenanceTaskQueue(config) });
    await worker.run();
  } finally {
    await pool.end();
  }
  log.info('stopped');
}

runMain(async () => {
  const { values } = parseArgs({ options: { maintenance: { type: 'boolean' }, ...HELP_OPTION } });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const config = loadConfig();
  if (values.maintenance) return runMaintenanceWorker(config);
  // First, so a platform's probes find a live process that is not ready yet while the worker starts.
  const health = config.metricsAddress ? await startHealthEndpoints(config.metricsAddress, log) : undefined;
  const deps = await openActivityDeps(config, await loadWorkerKeys(config));
  const worker = await createPipelineWorker({ config, deps, metricsAddress: health?.coreMetricsAddress });
  health?.setReadiness(
    new Readiness(
      [
        { name: 'Temporal', check: (signal) => worker.ping(signal) },
        {
          name: 'SQS',
          check: async (signal) =>
            deps.sqs.send(
              new GetQueueAttributesCommand({ QueueUrl: await deps.queueUrl(), AttributeNames: ['QueueArn'] }),
              {
                abortSignal: signal,
              },
            ),
        },
        { name: 'Postgres', check: () => deps.pool.query('SELECT 1') },
      ],
      () => worker.getState() === 'RUNNING',
    ),
  );
  const stopSampling = config.metricsAddress
    ? sampleQueueDepth(
        deps,
        rememberedUrl(() => resolveDeadLetterQueueUrl(deps.sqs, config)),
      )
    : undefined;
  log.info('polling', {
    address: config.TEMPORAL_ADDRESS,
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    metrics: metricsUrl(health?.address),
    health: health ? `http://${health.address}/healthz, /readyz` : 'off',
  });
  // The Temporal runtime shuts the worker down on Ctrl-C or SIGTERM; run() returns once in-flight tasks are done.
  await worker.run();
  stopSampling?.();
  await deps.close();
  await health?.stop();
  log.info('stopped');
});
