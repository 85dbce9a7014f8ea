import { parseArgs } from 'node:util';
import { DRAINS_OPTION, HELP_OPTION, oneOrMany, runMain, wholeNumber } from './cli/run-main';
import { loadConfig } from './config';
import {
  combineProgress,
  combineSummaries,
  type DrainProgress,
  drainWorkflowIds,
  formatProgress,
  formatSummary,
  poolSizeWarning,
  runDrain,
  taskQueuePollers,
} from './drain';
import { loadClientKeys } from './secrets';
import { createSqsClient, getQueueDepth, resolveQueueUrl } from './sqs';
import { connectClient } from './temporal/connect-client';
import { registerDrainSearchAttributes } from './temporal/register-search-attributes';
import { resolveDrainOptions, type DrainOptions } from './workflows/drain-options';

const USAGE = `usage: npm run start-workflow -- [--until-empty | --continuous] [--batch-size N] [--concurrency N] [--max-batch-bytes N]
  [--visibility-timeout S] [--grace-seconds S] [--confirm-seconds S] [--eager-activities] [--max-messages-per-second R]
  [--drains N | --workflow-id ID] [--json]
--max-messages-per-second R caps each drain's receives at R messages a second (to spare Postgres); 0, no cap.`;

runMain(async () => {
  const { values } = parseArgs({
    options: {
      'until-empty': { type: 'boolean' },
      continuous: { type: 'boolean' },
      'batch-size': { type: 'string' },
      concurrency: { type: 'string' },
      'confirm-seconds': { type: 'string' },
      'max-batch-bytes': { type: 'string' },
      'visibility-timeout': { type: 'string' },
      'grace-seconds': { type: 'string' },
      'eager-activities': { type: 'boolean' },
      'max-messages-per-second': { type: 'string' },
      'workflow-id': { type: 'string' },
      ...DRAINS_OPTION,
      json: { type: 'boolean' },
      ...HELP_OPTION,
    },
  });
  if (values.help) {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  if (values['until-empty'] && values.continuous) throw new Error('choose one of --until-empty and --continuous');
  const config = loadConfig();
  const client = await connectClient(config, await loadClientKeys(config));
  const sqs = createSqsClient(config);
  let queueUrl: Promise<string> | undefined;
  const workflowIds = oneOrMany('workflow-id', values['workflow-id'], values.drains, (drains) =>
    drainWorkflowIds(config, drains),
  );
  process.stderr.write(`drain ${workflowIds.join(', ')} on task queue ${config.TEMPORAL_TASK_QUEUE}\n`);
  const interactive = process.stderr.isTTY;
  const options: Partial<DrainOptions> = {
    mode: values.continuous ? 'continuous' : 'until-empty',
    batchSize: wholeNumber('batch-size', values['batch-size']),
    concurrency: wholeNumber('concurrency', values['concurrency']),
    maxBatchBytes: wholeNumber('max-batch-bytes', values['max-batch-bytes']),
    visibilityTimeoutSeconds: wholeNumber('visibility-timeout', values['visibility-timeout']),
    emptyGraceSeconds: wholeNumber('grace-seconds', values['grace-seconds']),
    emptyConfirmSeconds: wholeNumber('confirm-seconds', values['confirm-seconds']),
    eagerActivities: values['eager-activities'],
    maxMessagesPerSecond: wholeNumber('max-messages-per-second', values['max-messages-per-second']),
  };
  const lanes = workflowIds.length * resolveDrainOptions(options).concurrency;
  const workers = (await taskQueuePollers(client, config, 'activity')).size;
  const poolWarning = poolSizeWarning(config.DATABASE_POOL_SIZE, workers, lanes);
  if (poolWarning) process.stderr.write(`warning: ${poolWarning}\n`);
  // Several drains of one queue report one line: their totals and the queue they share.
  const progress = new Map<string, DrainProgress>();
  const report = (workflowId: string) => (latest: DrainProgress) => {
    progress.set(workflowId, latest);
    const line = formatProgress(combineProgress([...progress.values()]));
    process.stderr.write(interactive ? `\r\x1b[K${line}` : `${line}\n`);
  };
  const queueDepth = async () => getQueueDepth(sqs, await (queueUrl ??= resolveQueueUrl(sqs, config)));
  // Once, before the drains start side by side: they would otherwise all try to register the first time.
  if (workflowIds.length > 1) await registerDrainSearchAttributes(client, config.TEMPORAL_NAMESPACE);
  const summary = combineSummaries(
    await Promise.all(
      workflowIds.map((workflowId) =>
        runDrain(client, config, { workflowId, options, onProgress: report(workflowId), queueDepth }),
      ),
    ).finally(() => sqs.destroy()),
  );
  if (interactive) process.stderr.write('\r\x1b[K');
  process.stdout.write(formatSummary(summary) + '\n');
  if (values.json) process.stdout.write(JSON.stringify(summary) + '\n');
  return 0;
});
