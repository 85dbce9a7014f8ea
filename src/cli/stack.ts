import { loadConfig, LOCAL_PORTS } from '../config';
import { createLogger } from '../log';
import { loadKeyring } from '../secrets';
import { startLocalStack } from '../stack/local-stack';
import { runMain, untilStopSignal } from './run-main';

const log = createLogger('stack');

runMain(async () => {
  const config = loadConfig();
  const stopSignal = untilStopSignal();
  log.info('starting: Temporal dev server, codec server, SQS emulator, Postgres');
  const stack = await startLocalStack({
    ports: LOCAL_PORTS,
    dataDir: config.LOGIN_ETL_DATA_DIR,
    config,
    keyring: await loadKeyring(config),
  });
  log.info('ready', {
    temporal: stack.temporalAddress,
    webUi: stack.temporalUiUrl,
    codecServer: stack.codecServerUrl,
    sqs: stack.sqsEndpoint,
    queue: stack.queueUrl,
    dlq: stack.dlqUrl,
    postgres: stack.databaseUrl.replace(/:[^:@/]+@/, ':***@'),
    workerMetrics: config.metricsAddress ? `http://${config.metricsAddress}/metrics (served by npm run worker)` : 'off',
  });
  log.info('Ctrl-C stops everything');
  await stopSignal;
  log.info('stopping');
  await stack.stop();
  log.info('stopped');
});
