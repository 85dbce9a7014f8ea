import { openActivityDeps } from './activities/open-deps';
import { helpAsked, runMain } from './cli/run-main';
import { loadConfig } from './config';
import { createLogger } from './log';
import { sampleQueueDepth } from './metrics/sample-queue-depth';
import { loadWorkerKeys } from './secrets';
import { createPipelineWorker } from './temporal/worker';

const log = createLogger('worker');

const metricsUrl = (address: string | undefined) =>
  address === undefined ? 'off' : address.endsWith(':0') ? 'on a port the OS chose' : `http://${address}/metrics`;

const USAGE = `usage: npm run worker   (login-etl worker)

A Temporal worker for the pipeline's task queue (TEMPORAL_TASK_QUEUE): the drain workflow and its activities.
Settings come from the environment (docs/configuration.md); SIGTERM or Ctrl-C stops it within 20 s.`;

runMain(async () => {
  if (helpAsked(USAGE)) return 0;
  const config = loadConfig();
  const deps = await openActivityDeps(config, await loadWorkerKeys(config));
  const worker = await createPipelineWorker({ config, deps });
  const stopSampling = config.metricsAddress ? sampleQueueDepth(deps) : undefined;
  log.info('polling', {
    address: config.TEMPORAL_ADDRESS,
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    metrics: metricsUrl(config.metricsAddress),
  });
  // The Temporal runtime shuts the worker down on Ctrl-C or SIGTERM; run() returns once in-flight tasks are done.
  await worker.run();
  stopSampling?.();
  await deps.close();
  log.info('stopped');
});
