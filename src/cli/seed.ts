import { parseArgs } from 'node:util';
import { loadConfig } from '../config';
import { syntheticBodies } from '../core/synthetic-events';
import { readBodies, SAMPLE_DATA_FILE, sendBodies } from '../seed-messages';
import { createSqsClient, resolveQueueUrl } from '../sqs';
import { HELP_OPTION, runMain, wholeNumber } from './run-main';

const USAGE = `usage: npm run seed -- [--file PATH | --count N] [--seed S] [--malformed-share F]   (login-etl seed)

Sends messages to the queue: the lines of --file (one body per line; default the sample data), or --count N
synthetic login events, a share F of them malformed (default 0.02), from seed S (default 1).`;

runMain(async () => {
  const { values } = parseArgs({
    options: {
      file: { type: 'string' },
      count: { type: 'string' },
      seed: { type: 'string', default: '1' },
      'malformed-share': { type: 'string', default: '0.02' },
      ...HELP_OPTION,
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (values.file && values.count) throw new Error('choose one of --file and --count');
  const count = wholeNumber('count', values.count);
  const malformedShare = Number(values['malformed-share']);
  if (!(malformedShare >= 0 && malformedShare <= 1)) throw new Error('--malformed-share must be from 0 to 1');
  const config = loadConfig();
  const sqs = createSqsClient(config);
  const queueUrl = await resolveQueueUrl(sqs, config);
  const bodies =
    count !== undefined
      ? syntheticBodies(count, { seed: Number(values.seed), malformedShare })
      : readBodies(values.file ?? SAMPLE_DATA_FILE);
  const started = Date.now();
  const sent = await sendBodies(sqs, queueUrl, bodies);
  process.stdout.write(`sent ${sent} messages to ${queueUrl} in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
});
