import { runMain } from './cli/run-main';
import { loadConfig } from './config';
import { createLogger } from './log';
import { createPipelineWorker, openActivityDeps } from './pipeline';
import { loadPipelineKeys } from './secrets';

const log = createLogger('worker');

runMain(async () => {
  const config = loadConfig();
  const keys = loadPipelineKeys(config);
  const deps = await openActivityDeps(config, keys);
  const worker = await createPipelineWorker({ config, keys, deps });
  log.info('polling', { address: config.TEMPORAL_ADDRESS, taskQueue: config.TEMPORAL_TASK_QUEUE });
  // The Temporal runtime shuts the worker down on Ctrl-C or SIGTERM; run() returns once in-flight tasks are done.
  await worker.run();
  await deps.close();
  log.info('stopped');
});
