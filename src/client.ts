import { parseArgs } from 'node:util';
import { runMain, wholeNumber } from './cli/run-main';
import { loadConfig } from './config';
import { defaultWorkflowId, formatProgress, formatSummary, runDrain } from './drain';
import { loadKeyring } from './secrets';
import { createSqsClient, getQueueDepth, resolveQueueUrl } from './sqs';
import { connectClient } from './temporal/connect-client';

const USAGE = `usage: npm run start-workflow -- [--until-empty | --continuous] [--batch-size N] [--concurrency N] [--max-batch-bytes N]
  [--visibility-timeout S] [--grace-seconds S] [--eager-activities] [--workflow-id ID] [--json]`;

runMain(async () => {
  const { values } = parseArgs({
    options: {
      'until-empty': { type: 'boolean' },
      continuous: { type: 'boolean' },
      'batch-size': { type: 'string' },
      concurrency: { type: 'string' },
      'max-batch-bytes': { type: 'string' },
      'visibility-timeout': { type: 'string' },
      'grace-seconds': { type: 'string' },
      'eager-activities': { type: 'boolean' },
      'workflow-id': { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  if (values['until-empty'] && values.continuous) throw new Error('choose one of --until-empty and --continuous');
  const config = loadConfig();
  const client = await connectClient(config, await loadKeyring(config));
  const sqs = createSqsClient(config);
  let queueUrl: Promise<string> | undefined;
  const workflowId = values['workflow-id'] ?? defaultWorkflowId(config);
  process.stderr.write(`drain ${workflowId} on task queue ${config.TEMPORAL_TASK_QUEUE}\n`);
  const interactive = process.stderr.isTTY;
  const summary = await runDrain(client, config, {
    workflowId,
    options: {
      mode: values.continuous ? 'continuous' : 'until-empty',
      batchSize: wholeNumber('batch-size', values['batch-size']),
      concurrency: wholeNumber('concurrency', values['concurrency']),
      maxBatchBytes: wholeNumber('max-batch-bytes', values['max-batch-bytes']),
      visibilityTimeoutSeconds: wholeNumber('visibility-timeout', values['visibility-timeout']),
      emptyGraceSeconds: wholeNumber('grace-seconds', values['grace-seconds']),
      eagerActivities: values['eager-activities'],
    },
    onProgress: (progress) =>
      process.stderr.write(interactive ? `\r\x1b[K${formatProgress(progress)}` : `${formatProgress(progress)}\n`),
    queueDepth: async () => getQueueDepth(sqs, await (queueUrl ??= resolveQueueUrl(sqs, config))),
  }).finally(() => sqs.destroy());
  if (interactive) process.stderr.write('\r\x1b[K');
  process.stdout.write(formatSummary(summary) + '\n');
  if (values.json) process.stdout.write(JSON.stringify(summary) + '\n');
  return 0;
});
