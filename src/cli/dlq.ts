import { parseArgs } from 'node:util';
import { loadConfig } from '../config';
import { peekDeadLetters, redriveDeadLetters, type DeadLetter } from '../dead-letters';
import { createSqsClient, DEAD_LETTER_SUFFIX, getQueueDepth, resolveQueueUrl } from '../sqs';
import { runMain, subcommand, wholeNumber } from './run-main';

const USAGE = `usage: npm run dlq -- <list | show ID | redrive> [--max N]
  list      the dead-letter queue's messages (at most --max, default 100): id, first sent, receives, size, verdict
  show ID   one message's metadata, verdict and field names (ID: its id, or the id it was first sent with)
  redrive   moves messages (at most --max, default all) back to the queue, keeping their first id and send time
Bodies are never printed: they may hold raw ip and device_id.`;

/** Enough for any dead-letter queue this tool is meant for; `show` looks this far. */
const SHOW_LOOKS_AT = 10_000;

const line = (letter: DeadLetter) =>
  `${letter.messageId}  sent ${letter.sentAt}  receives ${letter.receives}  ${letter.bytes} B  ${letter.verdict}`;

runMain(async () => {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { max: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  // `show` takes the message id; every other command takes no argument.
  const [first, id, ...rest] = positionals;
  const command = subcommand(USAGE, { values, positionals: first === 'show' && id ? [first, ...rest] : positionals });
  if (typeof command === 'number') return command;
  const config = loadConfig();
  const sqs = createSqsClient(config);
  try {
    const queueUrl = await resolveQueueUrl(sqs, config);
    const dlqUrl = await resolveQueueUrl(sqs, {
      SQS_QUEUE_URL: config.SQS_QUEUE_URL && config.SQS_QUEUE_URL + DEAD_LETTER_SUFFIX,
      SQS_QUEUE_NAME: config.SQS_QUEUE_NAME + DEAD_LETTER_SUFFIX,
    });
    const max = wholeNumber('max', values.max);
    if (command === 'list') {
      const letters = await peekDeadLetters(sqs, dlqUrl, max ?? 100);
      const depth = await getQueueDepth(sqs, dlqUrl);
      for (const letter of letters) process.stdout.write(`${line(letter)}\n`);
      process.stdout.write(
        `${letters.length} shown; the dead-letter queue holds about ${depth.visible + depth.inFlight}\n`,
      );
      return 0;
    }
    if (command === 'show') {
      if (!id) throw new Error('show needs a message id; see --help');
      const letter = (await peekDeadLetters(sqs, dlqUrl, SHOW_LOOKS_AT)).find(
        (candidate) => candidate.messageId === id || candidate.originalMessageId === id,
      );
      if (!letter) throw new Error(`no message ${id} in the dead-letter queue`);
      process.stdout.write(
        `${JSON.stringify({ ...letter, why: 'received 5 times without being deleted: its batch failed or was lost each time' }, null, 2)}\n`,
      );
      return 0;
    }
    if (command === 'redrive') {
      const { moved, failed } = await redriveDeadLetters(sqs, { dlqUrl, queueUrl }, max ?? Number.MAX_SAFE_INTEGER);
      process.stdout.write(
        `${moved} moved back to the queue${failed ? `, ${failed} refused by SQS (left in the dead-letter queue)` : ''}\n`,
      );
      return failed > 0 ? 1 : 0;
    }
    throw new Error(`unknown command ${command}; see --help`);
  } finally {
    sqs.destroy();
  }
});
