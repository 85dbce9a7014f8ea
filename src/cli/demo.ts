import { parseArgs } from 'node:util';
import { loadConfig, LOCAL_PORTS } from '../config';
import { defaultWorkflowId, formatProgress, formatSummary, runDrain } from '../drain';
import { createLogger } from '../log';
import { openActivityDeps } from '../activities/open-deps';
import { createPipelineWorker } from '../temporal/worker';
import { loadWorkerKeys } from '../secrets';
import { readBodies, SAMPLE_DATA_FILE, sendBodies } from '../seed-messages';
import { getQueueDepth } from '../sqs';
import { startLocalStack } from '../stack/local-stack';
import { connectClient } from '../temporal/connect-client';
import { HELP_OPTION, runMain, untilStopSignal } from './run-main';
import { printable } from './terminal-text';

/** A row's text values as they can be shown in a terminal: a user_id is whatever the producer sent. */
const printableRow = (row: Record<string, unknown>) =>
  Object.fromEntries(
    Object.entries(row).map(([key, value]) => [key, typeof value === 'string' ? printable(value) : value]),
  );

const log = createLogger('demo');

const USAGE = `usage: npm start [-- --exit]   (login-etl start)

The demo: starts the local stack, sends the sample data when the queue is empty, runs a worker, drains the queue
through the workflow, prints the summary and a few masked rows, and keeps the Web UI up until Ctrl-C.
  --exit   stop everything after the drain`;

/** `npm start`: the whole pipeline on the local stack, on the sample data, with the Web UI left up to explore. */
runMain(async () => {
  const { values } = parseArgs({ options: { exit: { type: 'boolean' }, ...HELP_OPTION } });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const stopSignal = untilStopSignal();
  const baseConfig = loadConfig();
  const keys = await loadWorkerKeys(baseConfig);
  const { keyring } = keys;
  const stack = await startLocalStack({
    ports: LOCAL_PORTS,
    dataDir: baseConfig.LOGIN_ETL_DATA_DIR,
    config: baseConfig,
    keyring,
  });
  const config = { ...baseConfig, databaseUrl: stack.databaseUrl };
  const deps = await openActivityDeps(config, keys);
  try {
    const depth = await getQueueDepth(deps.sqs, stack.queueUrl);
    if (depth.visible + depth.inFlight + depth.delayed === 0) {
      const sent = await sendBodies(deps.sqs, stack.queueUrl, readBodies(SAMPLE_DATA_FILE));
      log.info(`queue was empty: sent the ${sent} sample messages`);
    }
    const worker = await createPipelineWorker({ config, deps });
    const workerRun = worker.run();
    const client = await connectClient(config, keyring);
    const summary = await runDrain(client, config, {
      workflowId: defaultWorkflowId(config),
      onProgress: (progress) => log.info(formatProgress(progress)),
      queueDepth: () => getQueueDepth(deps.sqs, stack.queueUrl),
    });
    process.stdout.write(
      `\n${formatSummary(summary)}\n` +
        `Workflow ${summary.workflowId}, run ${summary.runId}: ` +
        `${stack.temporalUiUrl}/namespaces/${config.TEMPORAL_NAMESPACE}/workflows/${summary.workflowId}/${summary.runId}\n\n`,
    );
    const { rows } = await deps.pool.query(
      `SELECT user_id, device_type, left(masked_ip, 16) || '…' AS masked_ip,
              left(masked_device_id, 16) || '…' AS masked_device_id, locale, app_version, app_version_text,
              to_char(create_date, 'YYYY-MM-DD') AS create_date
         FROM user_logins WHERE message_id IS NOT NULL ORDER BY loaded_at DESC, message_id LIMIT 5`,
    );
    console.table(rows.map(printableRow));
    const quarantined = await deps.pool.query(
      'SELECT message_id, reason FROM quarantined_messages ORDER BY quarantined_at DESC LIMIT 3',
    );
    console.table(quarantined.rows.map(printableRow));
    if (!values.exit) {
      process.stdout.write(`\nTemporal Web UI: ${stack.temporalUiUrl}  (Ctrl-C stops everything)\n`);
      await stopSignal;
    }
    // Ctrl-C has already made the Temporal runtime stop the worker; --exit has not.
    if (worker.getState() === 'RUNNING') worker.shutdown();
    await workerRun;
  } finally {
    await deps.close();
    await stack.stop();
  }
});
