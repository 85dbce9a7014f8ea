import { loadConfig, LOCAL_PORTS } from '../config';
import { createLogger } from '../log';
import { loadKeyring } from '../secrets';
import { startLocalStack } from '../stack/local-stack';
import { helpAsked, runMain, untilStopSignal } from './run-main';

const log = createLogger('stack');

const USAGE = `usage: npm run stack   (login-etl stack)

The local stack in the foreground: Temporal dev server with its Web UI, the codec server, the SQS emulator and
Postgres (embedded, or DATABASE_URL). Prints the endpoints; Ctrl-C or SIGTERM stops all of it.`;

runMain(async () => {
  if (helpAsked(USAGE)) return 0;
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
