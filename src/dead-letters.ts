import {
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type Message,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { validateLoginMessage } from './core/validate-message';
import { changeVisibility, SQS_BATCH_LIMIT } from './sqs';

/**
 * Message attributes a redriven message carries: its first SQS message id and send time. The pipeline takes them
 * in place of the new ones, so a message that was loaded before it was dead-lettered is found (a duplicate, not a
 * second row) and its row keeps its date (`create_date` is the send time's day).
 */
export const ORIGINAL_ATTRIBUTES = {
  messageId: 'login-etl-original-message-id',
  sentTimestamp: 'login-etl-original-sent-timestamp',
} as const;

/** A dead letter as the tool shows it: metadata and a verdict, never the body (it may hold raw ip and device_id). */
export interface DeadLetter {
  messageId: string;
  /** The id it had when first sent, when it was redriven before. */
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
      MessageAttributeNames: Object.values(ORIGINAL_ATTRIBUTES),
    }),
  );

const setVisibility = (sqs: SQSClient, queueUrl: string, messages: Message[], seconds: number) =>
  changeVisibility(
    sqs,
    queueUrl,
    messages.map((message) => message.ReceiptHandle!),
    seconds,
  );

/** The first id and send time of a message, through any number of redrives. */
export function originalOf(message: Message): { messageId: string; sentTimestamp: number } {
  const attributes = message.MessageAttributes ?? {};
  return {
    messageId: attributes[ORIGINAL_ATTRIBUTES.messageId]?.StringValue ?? message.MessageId!,
    sentTimestamp: Number(
      attributes[ORIGINAL_ATTRIBUTES.sentTimestamp]?.StringValue ?? message.Attributes?.SentTimestamp ?? Date.now(),
    ),
  };
}

export function describeDeadLetter(message: Message): DeadLetter {
  const body = message.Body ?? '';
  const original = originalOf(message);
  const result = validateLoginMessage(body);
  let fields: string[] = [];
  try {
    const parsed: unknown = JSON.parse(body);
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) fields = Object.keys(parsed);
  } catch {
    // Not JSON: the verdict says so.
  }
  return {
    messageId: message.MessageId!,
    originalMessageId: original.messageId,
    sentAt: new Date(original.sentTimestamp).toISOString(),
    receives: Number(message.Attributes?.ApproximateReceiveCount ?? 0),
    bytes: Buffer.byteLength(body, 'utf8'),
    verdict: result.ok ? `valid login event (user ${result.event.user_id})` : result.reason,
    fields,
  };
}

/** Up to `max` dead letters, each seen once, then made visible again: a look that takes nothing away. */
export async function peekDeadLetters(sqs: SQSClient, dlqUrl: string, max: number): Promise<DeadLetter[]> {
  const seen: Message[] = [];
  try {
    while (seen.length < max) {
      const { Messages = [] } = await receiveSome(sqs, dlqUrl, LOOK_SECONDS);
      if (Messages.length === 0) break;
      seen.push(...Messages);
    }
    return seen.slice(0, max).map(describeDeadLetter);
  } finally {
    await setVisibility(sqs, dlqUrl, seen, 0);
  }
}

/**
 * Moves up to `max` dead letters back to the source queue: each is sent there (with its original id and send time)
 * before it is deleted from the dead-letter queue, so a failure in between leaves a copy in both, never in
 * neither; the pipeline's load makes the copy a duplicate.
 */
export async function redriveDeadLetters(
  sqs: SQSClient,
  urls: { dlqUrl: string; queueUrl: string },
  max: number,
): Promise<{ moved: number; failed: number }> {
  let moved = 0;
  let failed = 0;
  while (moved + failed < max) {
    const { Messages = [] } = await receiveSome(sqs, urls.dlqUrl, LOOK_SECONDS);
    if (Messages.length === 0) break;
    const batch = Messages.slice(0, max - moved - failed);
    await setVisibility(sqs, urls.dlqUrl, Messages.slice(batch.length), 0);
    const sent = await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: urls.queueUrl,
        Entries: batch.map((message, index) => {
          const original = originalOf(message);
          return {
            Id: String(index),
            MessageBody: message.Body ?? '',
            MessageAttributes: {
              [ORIGINAL_ATTRIBUTES.messageId]: { DataType: 'String', StringValue: original.messageId },
              [ORIGINAL_ATTRIBUTES.sentTimestamp]: { DataType: 'Number', StringValue: String(original.sentTimestamp) },
            },
          };
        }),
      }),
    );
    const delivered = (sent.Successful ?? []).map((entry) => batch[Number(entry.Id)]!);
    const refused = (sent.Failed ?? []).map((entry) => batch[Number(entry.Id)]!);
    if (delivered.length > 0) {
      await sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: urls.dlqUrl,
          Entries: delivered.map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle! })),
        }),
      );
    }
    await setVisibility(sqs, urls.dlqUrl, refused, 0);
    moved += delivered.length;
    failed += refused.length;
    // A queue that refuses every send would otherwise be retried forever.
    if (delivered.length === 0) break;
  }
  return { moved, failed };
}
