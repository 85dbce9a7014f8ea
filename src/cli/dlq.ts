import { parseArgs } from 'node:util';
import { loadConfig } from '../config';
import { redriveDeadLetters, walkDeadLetters, type DeadLetter } from '../dead-letters';
import { loadKeyring } from '../secrets';
import { createSqsClient, getQueueDepth, resolveDeadLetterQueueUrl, resolveQueueUrl } from '../sqs';
import { HELP_OPTION, runMain, subcommand, wholeNumber } from './run-main';
import { printable, printableJson } from './terminal-text';

const USAGE = `usage: npm run dlq -- <list | show ID | redrive> [--max N]
  list      the dead-letter queue's messages (at most --max, default 100): id, first sent, receives, size, verdict
  show ID   one message's metadata, verdict and field names (ID: its id, or the id it was first sent with)
  redrive   moves messages (at most --max, default all) back to the queue, keeping their first id and send time
Bodies are never printed: they may hold raw ip and device_id.`;

/** Enough for any dead-letter queue this tool is meant for; `show` looks this far, a page at a time. */
const SHOW_LOOKS_AT = 10_000;

const line = (letter: DeadLetter) =>
  printable(
    `${letter.messageId}  sent ${letter.sentAt}  receives ${letter.receives}  ${letter.bytes} B  ${letter.verdict}`,
  );

runMain(async () => {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { max: { type: 'string' }, ...HELP_OPTION },
  });
  // `show` takes the message id; every other command takes no argument.
  const [first, id, ...rest] = positionals;
  const command = subcommand(USAGE, { values, positionals: first === 'show' && id ? [first, ...rest] : positionals });
  if (typeof command === 'number') return command;
  const config = loadConfig();
  // The redrive signs what it carries over, and the tool shows a first id only where such a signature holds.
  const redriveKey = (await loadKeyring(config)).redrive;
  const sqs = createSqsClient(config);
  try {
    const queueUrl = await resolveQueueUrl(sqs, config);
    const dlqUrl = await resolveDeadLetterQueueUrl(sqs, config);
    const max = wholeNumber('max', values.max);
    if (command === 'list') {
      let shown = 0;
      await walkDeadLetters(sqs, dlqUrl, redriveKey, max ?? 100, (letter) => {
        shown++;
        process.stdout.write(`${line(letter)}\n`);
      });
      const depth = await getQueueDepth(sqs, dlqUrl);
      process.stdout.write(`${shown} shown; the dead-letter queue holds about ${depth.visible + depth.inFlight}\n`);
      return 0;
    }
    if (command === 'show') {
      if (!id) throw new Error('show needs a message id; see --help');
      let letter: DeadLetter | undefined;
      await walkDeadLetters(sqs, dlqUrl, redriveKey, SHOW_LOOKS_AT, (candidate) => {
        if (candidate.messageId === id || candidate.originalMessageId === id) letter = candidate;
        return letter !== undefined;
      });
      if (!letter) throw new Error(`no message ${printable(id)} in the dead-letter queue`);
      const why = 'received 5 times without being deleted: its batch failed or was lost each time';
      process.stdout.write(`${printableJson({ ...letter, why }, 2)}\n`);
      return 0;
    }
    if (command === 'redrive') {
      const { moved, failed } = await redriveDeadLetters(
        sqs,
        { dlqUrl, queueUrl },
        redriveKey,
        max ?? Number.MAX_SAFE_INTEGER,
      );
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
