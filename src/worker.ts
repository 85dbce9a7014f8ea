import { runMain } from './cli/run-main';
import { loadConfig } from './config';
import { createLogger } from './log';
import { createPipelineWorker, openActivityDeps } from './pipeline';
import { loadKeyring } from './secrets';

const log = createLogger('worker');

runMain(async () => {
  const config = loadConfig();
  const keyring = await loadKeyring(config);
  const deps = await openActivityDeps(config, keyring);
  const worker = await createPipelineWorker({ config, deps });
  log.info('polling', { address: config.TEMPORAL_ADDRESS, taskQueue: config.TEMPORAL_TASK_QUEUE });
  // The Temporal runtime shuts the worker down on Ctrl-C or SIGTERM; run() returns once in-flight tasks are done.
  await worker.run();
  await deps.close();
  log.info('stopped');
});
