import {
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type Message,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { VersionedKey } from './core/keys';
import { attestOrigin, originOf, REDRIVE_ATTRIBUTES } from './core/message-origin';
import { validateLoginMessage } from './core/validate-message';
import { changeVisibility, chunksWithin, receivedOriginOf, SQS_BATCH_LIMIT } from './sqs';

/** A dead letter as the tool shows it: metadata and a verdict, never the body (it may hold raw ip and device_id). */
export interface DeadLetter {
  messageId: string;
  /** The id it had when first sent, when the project's redrive vouched for it; else its own. */
  originalMessageId: string;
  sentAt: string;
  receives: number;
  bytes: number;
  /** "valid login event (user …)" or the validation's reason, which names fields, never values. */
  verdict: string;
  /** Top-level field names of a JSON object body. */
  fields: string[];
}

/** Hidden while the tool looks at them, so one pass sees each message once; handed back at the end. */
const LOOK_SECONDS = 60;

const receiveSome = (sqs: SQSClient, queueUrl: string, visibilityTimeout: number) =>
  sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: queueUrl,
      MaxNumberOfMessages: SQS_BATCH_LIMIT,
      VisibilityTimeout: visibilityTimeout,
      WaitTimeSeconds: 1,
      MessageSystemAttributeNames: ['SentTimestamp', 'ApproximateReceiveCount'],
      MessageAttributeNames: Object.values(REDRIVE_ATTRIBUTES),
    }),
  );

const receiptHandles = (messages: Message[]) => messages.map((message) => message.ReceiptHandle!);

/** What the tool shows of a message; never throws, whatever its body and attributes hold. */
function describeDeadLetter(message: Message, redriveKey: VersionedKey, now = Date.now()): DeadLetter {
  const body = message.Body ?? '';
  const { origin } = originOf(redriveKey, receivedOriginOf(message), now);
  const result = validateLoginMessage(body);
  let fields: string[] = [];
  try {
    const parsed: unknown = JSON.parse(body);
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) fields = Object.keys(parsed);
  } catch {
    // Not JSON: the verdict says so.
  }
  return {
    messageId: message.MessageId ?? '',
    originalMessageId: origin.messageId,
    sentAt: new Date(origin.sentTimestamp).toISOString(),
    receives: Number(message.Attributes?.ApproximateReceiveCount ?? 0) || 0,
    bytes: Buffer.byteLength(body, 'utf8'),
    verdict: result.ok ? `valid login event (user ${result.event.user_id})` : result.reason,
    fields,
  };
}

/**
 * Looks at up to `max` dead letters, each once, one page of 10 at a time: `visit` gets each one's description (the
 * body is dropped with its page) and may stop the walk by returning true. Then every message seen is made visible
 * again: a look that takes nothing away, and holds no more than a page of bodies.
 */
export async function walkDeadLetters(
  sqs: SQSClient,
  dlqUrl: string,
  redriveKey: VersionedKey,
  max: number,
  visit: (letter: DeadLetter) => boolean | void,
): Promise<void> {
  const seen: string[] = [];
  try {
    while (seen.length < max) {
      const { Messages = [] } = await receiveSome(sqs, dlqUrl, LOOK_SECONDS);
      if (Messages.length === 0) break;
      const looked = Messages.slice(0, max - seen.length);
      seen.push(...receiptHandles(Messages));
      if (looked.some((message) => visit(describeDeadLetter(message, redriveKey)) === true)) break;
    }
  } finally {
    await changeVisibility(sqs, dlqUrl, seen, 0);
  }
}

/**
 * Moves up to `max` dead letters back to the source queue: each is sent there (with its original id and send time,
 * signed for the pipeline to trust) before it is deleted from the dead-letter queue, so a failure in between leaves
 * a copy in both, never in neither; the pipeline's load makes the copy a duplicate.
 */
export async function redriveDeadLetters(
  sqs: SQSClient,
  urls: { dlqUrl: string; queueUrl: string },
  redriveKey: VersionedKey,
  max: number,
): Promise<{ moved: number; failed: number }> {
  let moved = 0;
  let failed = 0;
  while (moved + failed < max) {
    const { Messages = [] } = await receiveSome(sqs, urls.dlqUrl, LOOK_SECONDS);
    if (Messages.length === 0) break;
    const batch = Messages.slice(0, max - moved - failed);
    await changeVisibility(sqs, urls.dlqUrl, receiptHandles(Messages.slice(batch.length)), 0);
    // Ten large bodies would exceed what one SendMessageBatch may carry: sent in as many calls as they need.
    const delivered: Message[] = [];
    const refused: Message[] = [];
    for (const part of chunksWithin(batch, (message) => Buffer.byteLength(message.Body ?? '', 'utf8'))) {
      const sent = await sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: urls.queueUrl,
          Entries: part.map((message, index) => {
            const body = message.Body ?? '';
            const { origin } = originOf(redriveKey, receivedOriginOf(message), Date.now());
            return {
              Id: String(index),
              MessageBody: body,
              MessageAttributes: {
                [REDRIVE_ATTRIBUTES.messageId]: { DataType: 'String', StringValue: origin.messageId },
                [REDRIVE_ATTRIBUTES.sentTimestamp]: { DataType: 'Number', StringValue: String(origin.sentTimestamp) },
                [REDRIVE_ATTRIBUTES.signature]: {
                  DataType: 'String',
                  StringValue: attestOrigin(redriveKey, origin, body),
                },
              },
            };
          }),
        }),
      );
      delivered.push(...(sent.Successful ?? []).map((entry) => part[Number(entry.Id)]!));
      refused.push(...(sent.Failed ?? []).map((entry) => part[Number(entry.Id)]!));
    }
    if (delivered.length > 0) {
      await sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: urls.dlqUrl,
          Entries: delivered.map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle! })),
        }),
      );
    }
    await changeVisibility(sqs, urls.dlqUrl, receiptHandles(refused), 0);
    moved += delivered.length;
    failed += refused.length;
    // A queue that refuses every send would otherwise be retried forever.
    if (delivered.length === 0) break;
  }
  return { moved, failed };
}
