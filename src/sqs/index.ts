import {
  ChangeMessageVisibilityBatchCommand,
  CreateQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  QueueDoesNotExist,
  type Message,
  SQSClient,
  SetQueueAttributesCommand,
} from '@aws-sdk/client-sqs';
import { awsClientSettings } from '../aws';
import type { Config } from '../config';
import { FAILURE_TYPES } from '../core/failure-types';
import { REDRIVE_ATTRIBUTES, type ReceivedOrigin } from '../core/message-origin';
import { applyGate, SqsGate } from './gate';

export const DEAD_LETTER_SUFFIX = '-dlq';

/** SQS hands out at most 10 messages per ReceiveMessage and takes at most 10 entries per batch call. */
export const SQS_BATCH_LIMIT = 10;

/**
 * What one SendMessageBatch may carry in all (SQS's limit is 1 MiB of bodies and attributes): the bodies of a chunk
 * stay under this, leaving room for the attributes.
 */
export const SEND_BATCH_BODY_BYTES = 1_000_000;

/** Consecutive groups of `size` (the last may be shorter), for SQS's batch calls; lazy, so any iterable will do. */
export function* chunks<T>(items: Iterable<T>, size = SQS_BATCH_LIMIT): Generator<T[]> {
  yield* chunksWithin(items, () => 0, Infinity, size);
}

/**
 * Consecutive groups of at most `size` items whose `bytesOf` sum stays within `maxBytes` (an item larger than that
 * goes alone, for SQS to refuse with its own reason): a SendMessageBatch of ten large bodies would exceed SQS's
 * limit for the whole request.
 */
export function* chunksWithin<T>(
  items: Iterable<T>,
  bytesOf: (item: T) => number,
  maxBytes = SEND_BATCH_BODY_BYTES,
  size = SQS_BATCH_LIMIT,
): Generator<T[]> {
  let chunk: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const itemBytes = bytesOf(item);
    if (chunk.length > 0 && (chunk.length === size || bytes + itemBytes > maxBytes)) {
      yield chunk;
      chunk = [];
      bytes = 0;
    }
    chunk.push(item);
    bytes += itemBytes;
  }
  if (chunk.length > 0) yield chunk;
}
/**
 * SQS calls one batch operation keeps open at once: against real SQS a call costs 10–30 ms, so a batch of 1,000
 * sent one call after another would mostly wait; unbounded, one batch would take every socket of the client.
 */
export const PARALLEL_SQS_CALLS = 10;

/** `send` for each chunk of 10 items, at most PARALLEL_SQS_CALLS at a time; results in chunk order. */
export async function sendInChunks<T, R>(items: readonly T[], send: (chunk: T[]) => Promise<R>): Promise<R[]> {
  const all = [...chunks(items)];
  const results: R[] = new Array<R>(all.length);
  let next = 0;
  const caller = async () => {
    for (let index = next++; index < all.length; index = next++) results[index] = await send(all[index]!);
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL_SQS_CALLS, all.length) }, caller));
  return results;
}

/** Sets how long more the messages stay hidden (0: visible at once); returns the receipt handles SQS refused. */
export async function changeVisibility(
  sqs: SQSClient,
  queueUrl: string,
  receiptHandles: readonly string[],
  seconds: number,
): Promise<string[]> {
  const refused = await sendInChunks(receiptHandles, async (chunk) => {
    const { Failed = [] } = await sqs.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl: queueUrl,
        Entries: chunk.map((receiptHandle, index) => ({
          Id: String(index),
          ReceiptHandle: receiptHandle,
          VisibilityTimeout: seconds,
        })),
      }),
    );
    return Failed.map((failure) => chunk[Number(failure.Id)]!);
  });
  return refused.flat();
}

const MAX_RECEIVE_COUNT = 5;

/**
 * SQS's longest retention, for the dead-letter queue: a message keeps its original enqueue time when it moves
 * there, so with the source's retention it could expire soon after landing, before anyone looked.
 */
const DEAD_LETTER_RETENTION_SECONDS = 14 * 24 * 3600;

/**
 * An SQS client whose every call passes `gate` (one per worker: all its calls share one adaptive limit), which also
 * retries what the SDK would have: the SDK's own retries are off, so the gate sees each attempt.
 */
export function createSqsClient(
  config: Pick<Config, 'sqsEndpoint' | 'AWS_REGION'>,
  gate: SqsGate = new SqsGate(),
): SQSClient {
  const client = new SQSClient({ ...awsClientSettings(config.sqsEndpoint, config.AWS_REGION), maxAttempts: 1 });
  applyGate(client, gate);
  return client;
}

/** SQS_QUEUE_URL when set, otherwise the URL SQS gives for SQS_QUEUE_NAME. */
export async function resolveQueueUrl(
  sqs: SQSClient,
  config: Pick<Config, 'SQS_QUEUE_URL' | 'SQS_QUEUE_NAME'>,
): Promise<string> {
  if (config.SQS_QUEUE_URL) return config.SQS_QUEUE_URL;
  try {
    const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: config.SQS_QUEUE_NAME }));
    if (!QueueUrl) throw new Error(`SQS returned no URL for queue ${config.SQS_QUEUE_NAME}`);
    return QueueUrl;
  } catch (error) {
    if (error instanceof QueueDoesNotExist) throw new QueueMissingError(config.SQS_QUEUE_NAME);
    throw error;
  }
}

/** `resolve`'s URL, remembered once it is found; asked again after a failure (the queue may not exist yet). */
export function rememberedUrl(resolve: () => Promise<string>): () => Promise<string> {
  let url: Promise<string> | undefined;
  return () => {
    url ??= resolve().catch((error: unknown) => {
      url = undefined;
      throw error;
    });
    return url;
  };
}

/** The dead-letter queue beside the queue: its name (or URL) with the `-dlq` suffix, as `ensureQueues` makes it. */
export const resolveDeadLetterQueueUrl = (sqs: SQSClient, config: Pick<Config, 'SQS_QUEUE_URL' | 'SQS_QUEUE_NAME'>) =>
  resolveQueueUrl(sqs, {
    SQS_QUEUE_URL: config.SQS_QUEUE_URL && config.SQS_QUEUE_URL + DEAD_LETTER_SUFFIX,
    SQS_QUEUE_NAME: config.SQS_QUEUE_NAME + DEAD_LETTER_SUFFIX,
  });

class QueueMissingError extends Error {
  override name = FAILURE_TYPES.queueMissing;
  constructor(queueName: string) {
    super(`SQS queue ${queueName} does not exist (create it with \`npm run stack\` or set SQS_QUEUE_URL)`);
  }
}

/**
 * Creates the queue and its dead-letter queue (redrive after MAX_RECEIVE_COUNT receives, kept 14 days); safe to
 * repeat.
 */
export async function ensureQueues(sqs: SQSClient, queueName: string): Promise<{ queueUrl: string; dlqUrl: string }> {
  const dlq = await sqs.send(new CreateQueueCommand({ QueueName: queueName + DEAD_LETTER_SUFFIX }));
  await sqs.send(
    new SetQueueAttributesCommand({
      QueueUrl: dlq.QueueUrl,
      Attributes: { MessageRetentionPeriod: String(DEAD_LETTER_RETENTION_SECONDS) },
    }),
  );
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: dlq.QueueUrl, AttributeNames: ['QueueArn'] }),
  );
  const redrivePolicy = JSON.stringify({
    deadLetterTargetArn: Attributes?.QueueArn,
    maxReceiveCount: String(MAX_RECEIVE_COUNT),
  });
  const queue = await sqs.send(new CreateQueueCommand({ QueueName: queueName }));
  // Set apart from CreateQueue, which refuses to change the attributes of a queue that already exists.
  await sqs.send(
    new SetQueueAttributesCommand({ QueueUrl: queue.QueueUrl, Attributes: { RedrivePolicy: redrivePolicy } }),
  );
  return { queueUrl: queue.QueueUrl!, dlqUrl: dlq.QueueUrl! };
}

/** What a received message says of its origin, for core/message-origin.ts to judge. */
export function receivedOriginOf(message: Message): ReceivedOrigin {
  const attributes: ReceivedOrigin['attributes'] = {};
  for (const name of Object.values(REDRIVE_ATTRIBUTES)) {
    const value = message.MessageAttributes?.[name]?.StringValue;
    if (value !== undefined) attributes[name] = value;
  }
  return {
    messageId: message.MessageId,
    sentTimestamp: message.Attributes?.SentTimestamp,
    body: message.Body ?? '',
    attributes,
  };
}

export interface QueueDepth {
  visible: number;
  inFlight: number;
  delayed: number;
}

export async function getQueueDepth(sqs: SQSClient, queueUrl: string): Promise<QueueDepth> {
  const { Attributes = {} } = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: [
        'ApproximateNumberOfMessages',
        'ApproximateNumberOfMessagesNotVisible',
        'ApproximateNumberOfMessagesDelayed',
      ],
    }),
  );
  return {
    visible: Number(Attributes.ApproximateNumberOfMessages ?? 0),
    inFlight: Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0),
    delayed: Number(Attributes.ApproximateNumberOfMessagesDelayed ?? 0),
  };
}
