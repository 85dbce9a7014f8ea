import { ReceiveMessageCommand, type Message } from '@aws-sdk/client-sqs';
import { Context } from '@temporalio/activity';
import { originOf, REDRIVE_ATTRIBUTES } from '../core/message-origin';
import type { ReceivedMessage } from '../core/types';
import { validateLoginMessage } from '../core/validate-message';
import {
  changeVisibility,
  getQueueDepth,
  PARALLEL_SQS_CALLS,
  receivedOriginOf,
  SQS_BATCH_LIMIT,
  type QueueDepth,
} from '../sqs';
import { sharedSignal, sleep, type SqsGate } from '../sqs/gate';
import { countMessages, recordOldestReceived, type MessageCounter } from '../metrics';
import type { ActivityDeps } from './deps';
import { heartbeating } from './heartbeating';
import type { HoldTerms } from './held-batches';

/**
 * The most one message may weigh in a Temporal payload. Temporal refuses payloads over 2 MB; an SQS body of
 * up to 1 MiB can grow when JSON escapes it, so a body past this bound is carried in a compact form instead.
 */
const MAX_MESSAGE_PAYLOAD_BYTES = 1_500_000;

interface ReceiveBatchInput {
  maxMessages: number;
  /** Bound on the batch's serialized size, so activity payloads stay under Temporal's limit. */
  maxBytes: number;
  /** Long poll of the first ReceiveMessage call (0–20 s). */
  waitTimeSeconds: number;
  visibilityTimeoutSeconds: number;
}

interface ReceiveBatchResult {
  messages: ReceivedMessage[];
  /** Messages received past the byte bound and handed straight back to the queue. */
  released: number;
  /** The queue's counts, read when nothing was received, to tell an empty queue from one with messages in flight. */
  queueDepth?: QueueDepth;
}

export interface ReceiveHeldBatchInput extends Omit<ReceiveBatchInput, 'visibilityTimeoutSeconds'>, HoldTerms {}

/** The claim check: what the workflow needs to know of a held batch, and where its next steps must run. */
export interface HeldBatchRef {
  id: string;
  /** The task queue of the worker that holds the batch. */
  taskQueue: string;
  messages: number;
  bytes: number;
}

export interface ReceiveHeldBatchResult extends Omit<ReceiveBatchResult, 'messages'> {
  /** Absent when nothing was received. */
  batch?: HeldBatchRef;
}

/** What a receive has taken from the queue so far. */
interface Filling {
  messages: ReceivedMessage[];
  /** Received past the byte bound: handed straight back. */
  overflow: Message[];
  bytes: number;
  /** Where each message is, by SQS's own message id, so a message returned twice is kept once. */
  seen: Map<string, { overflow: boolean; index: number }>;
  counts: Partial<Record<MessageCounter, number>>;
}

/**
 * How long the calls that fill a batch should take at the rate SQS has lately been answering. A fast SQS fills the
 * largest batch in far less; on a slow one, batches shrink to what it serves in that time, so messages are deleted
 * soon after they are received rather than held in flight while a large batch fills (a server that scans its
 * messages pays for every one still in it).
 */
const FILL_TARGET_SECONDS = 0.5;

/**
 * The batch size to ask for, given `received` so far: `requested`, or less when SQS answers too slowly to fill it
 * within the target; whole calls of 10 where it shrinks, so no call asks for less. Until a call has been timed, one
 * call more than received: the first batch on a slow server must not be a large one held under a lease it cannot keep
 * renewing, and on a fast one the call that measures the pace costs a few milliseconds.
 */
export const batchSizeFor = (
  gate: Pick<SqsGate, 'callsPerSecond' | 'measured'>,
  requested: number,
  received = 0,
): number => {
  if (!gate.measured) return Math.min(requested, received + SQS_BATCH_LIMIT);
  const calls = Math.max(1, Math.floor(gate.callsPerSecond() * FILL_TARGET_SECONDS));
  return Math.min(requested, calls * SQS_BATCH_LIMIT);
};

/**
 * Receives a batch into this worker's memory, under a lease it renews, and returns only the claim check. The batch
 * is as large as asked, or smaller when SQS is slow or the worker's memory for held batches is short; the lease as
 * long as asked, or longer when batches have lately taken long.
 */
export function createReceiveHeldBatch(deps: ActivityDeps) {
  return async function receiveHeldBatch(input: ReceiveHeldBatchInput): Promise<ReceiveHeldBatchResult> {
    const queueUrl = await deps.queueUrl();
    return heartbeating(async () => {
      const expected = batchSizeFor(deps.sqsGate, input.maxMessages);
      // Each held message costs SQS a tenth of a receive and a tenth of a delete.
      const calls = ((deps.held.messages + expected) * 2) / SQS_BATCH_LIMIT;
      const leaseSeconds = deps.held.leaseFor(input.leaseSeconds, calls / deps.sqsGate.callsPerSecond());
      const reservation = await deps.held.reserve(
        input.maxBytes,
        MAX_MESSAGE_PAYLOAD_BYTES,
        Context.current().cancellationSignal,
      );
      try {
        const receivedAt = Date.now();
        const { filling, queueDepth } = await receive(
          deps,
          queueUrl,
          {
            ...input,
            maxBytes: Math.min(input.maxBytes, reservation.payloadBytes),
            visibilityTimeoutSeconds: leaseSeconds,
          },
          (received) => batchSizeFor(deps.sqsGate, input.maxMessages, received),
        );
        const released = filling.overflow.length;
        if (filling.messages.length === 0) return { released, queueDepth };
        const terms = { leaseSeconds, holdSeconds: input.holdSeconds };
        const held = deps.held.hold(queueUrl, filling.messages, terms, receivedAt, filling.bytes);
        const batch = {
          id: held.id,
          taskQueue: deps.held.taskQueue,
          messages: held.entries.length,
          bytes: filling.bytes,
        };
        return { batch, released };
      } finally {
        reservation.release();
      }
    });
  };
}

/** How many messages the batch may hold, given how many it has: it follows SQS's pace as the fill goes on. */
type BatchSize = (received: number) => number;

async function receive(
  deps: ActivityDeps,
  queueUrl: string,
  input: ReceiveBatchInput,
  batchSize: BatchSize,
): Promise<{ filling: Filling; queueDepth?: QueueDepth }> {
  const filling: Filling = { messages: [], overflow: [], bytes: 0, seen: new Map(), counts: {} };
  try {
    await fill(deps, queueUrl, input, batchSize, filling);
  } catch (error) {
    // Cancelled (the worker is stopping) or failed halfway: hand back what was received, so the messages are
    // visible again at once instead of after the visibility timeout.
    const taken = [...filling.messages.map((m) => ({ ReceiptHandle: m.receiptHandle })), ...filling.overflow];
    await release(deps, queueUrl, taken).catch(() => undefined);
    throw error;
  }
  if (filling.overflow.length > 0) await release(deps, queueUrl, filling.overflow);
  const { metricMeter } = Context.current();
  countMessages(metricMeter, { ...filling.counts, received: filling.messages.length });
  recordOldestReceived(
    metricMeter,
    filling.messages.map((message) => message.sentTimestamp),
    Date.now(),
  );
  const queueDepth = filling.messages.length === 0 ? await getQueueDepth(deps.sqs, queueUrl) : undefined;
  return { filling, queueDepth };
}

/**
 * How long a receive keeps filling its batch after the first call answered. With the long poll (20 s) it stays well
 * inside the activity's 1-minute start-to-close timeout, however slowly SQS answers or few messages it returns.
 */
const FILL_BUDGET_MS = 20_000;

/**
 * ReceiveMessage calls of 10 until the batch is full by count or bytes, the queue has nothing more, or the fill
 * budget is spent: the first long-polls alone; then rounds of up to PARALLEL_SQS_CALLS calls, each for what is
 * still missing. The batch's size is asked again each round, as the calls so far tell how fast SQS is.
 */
async function fill(
  deps: ActivityDeps,
  queueUrl: string,
  input: ReceiveBatchInput,
  batchSize: BatchSize,
  batch: Filling,
): Promise<void> {
  const context = Context.current();
  const signal = sharedSignal(context.cancellationSignal);
  const receive = async (maxMessages: number, waitTimeSeconds: number) => {
    // Under the worker's cap, a call waits for its share of time first, and gives back what it did not get.
    const pace = deps.receivePace;
    const wait = pace ? pace.reserve(maxMessages, Date.now()) - Date.now() : 0;
    if (wait > 0) await sleep(wait, signal);
    const result = await deps.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: maxMessages,
        WaitTimeSeconds: waitTimeSeconds,
        VisibilityTimeout: input.visibilityTimeoutSeconds,
        MessageSystemAttributeNames: ['SentTimestamp', 'ApproximateReceiveCount'],
        MessageAttributeNames: Object.values(REDRIVE_ATTRIBUTES),
      }),
      { abortSignal: signal },
    );
    pace?.refund(maxMessages - (result.Messages?.length ?? 0));
    return result;
  };
  const take = (messages: Message[] = []) => add(deps, batch, messages, input.maxBytes);
  const first = await receive(Math.min(SQS_BATCH_LIMIT, batchSize(0)), input.waitTimeSeconds);
  let received = take(first.Messages);
  // Within a third of the visibility timeout too, so the first messages are still hidden when the batch is held.
  const deadline = Date.now() + Math.min(FILL_BUDGET_MS, (input.visibilityTimeoutSeconds * 1000) / 3);
  while (
    received > 0 &&
    batch.messages.length < batchSize(batch.messages.length) &&
    batch.overflow.length === 0 &&
    Date.now() < deadline
  ) {
    // Ask only for what can still fit by bytes, going by the messages so far: every message received past the
    // bound is handed back, and each receive counts toward the dead-letter queue's limit.
    const fits = Math.floor((input.maxBytes - batch.bytes) / (batch.bytes / batch.messages.length));
    const missing = Math.min(batchSize(batch.messages.length) - batch.messages.length, fits);
    if (missing < 1) return;
    const calls = Math.min(PARALLEL_SQS_CALLS, Math.ceil(missing / SQS_BATCH_LIMIT));
    const sizes = Array.from({ length: calls }, (_, call) =>
      Math.min(SQS_BATCH_LIMIT, missing - call * SQS_BATCH_LIMIT),
    );
    // Every call's messages join the batch before any failure is thrown, so a failed round hands them all back.
    const results = await Promise.allSettled(sizes.map((size) => receive(size, 0)));
    received = 0;
    for (const result of results) if (result.status === 'fulfilled') received += take(result.value.Messages);
    const failed = results.find((result) => result.status === 'rejected');
    if (failed) throw failed.reason;
  }
}

/**
 * Takes messages into the batch, or past its byte bound into the overflow; returns how many arrived. A message
 * SQS returns again during the fill (its visibility lapsed) is kept once, with the newest receipt handle: SQS
 * deletes reliably only with that one, and refuses one delete call naming a message twice.
 */
function add(deps: ActivityDeps, batch: Filling, messages: Message[], maxBytes: number): number {
  for (const message of messages) {
    const seen = message.MessageId === undefined ? undefined : batch.seen.get(message.MessageId);
    if (seen) {
      batch.counts.repeated = (batch.counts.repeated ?? 0) + 1;
      if (seen.overflow) batch.overflow[seen.index] = message;
      else batch.messages[seen.index]!.receiptHandle = message.ReceiptHandle!;
      continue;
    }
    const received = toReceivedMessage(deps, message, batch);
    const size = payloadBytes(received);
    const overflow = batch.messages.length > 0 && (batch.bytes + size > maxBytes || batch.overflow.length > 0);
    if (message.MessageId !== undefined) {
      batch.seen.set(message.MessageId, {
        overflow,
        index: overflow ? batch.overflow.length : batch.messages.length,
      });
    }
    if (overflow) {
      batch.overflow.push(message);
    } else {
      batch.messages.push(received);
      batch.bytes += size;
    }
  }
  return messages.length;
}

function payloadBytes(message: ReceivedMessage): number {
  return Buffer.byteLength(JSON.stringify(message), 'utf8');
}

/**
 * The message as the pipeline carries it. It keeps its own id and send time unless the DLQ tool's redrive signed
 * the ones it had first (core/message-origin.ts): attributes any sender may set are not trusted otherwise.
 */
function toReceivedMessage(deps: ActivityDeps, message: Message, batch: Filling): ReceivedMessage {
  const body = message.Body ?? '';
  const vouching = originOf(deps.keyring.redrive, receivedOriginOf(message), Date.now());
  if (vouching.kind === 'refused') batch.counts.untrustedOrigin = (batch.counts.untrustedOrigin ?? 0) + 1;
  const received: ReceivedMessage = {
    ...vouching.origin,
    receiptHandle: message.ReceiptHandle!,
    body,
    bodyBytes: Buffer.byteLength(body, 'utf8'),
    receiveCount: Number(message.Attributes?.ApproximateReceiveCount ?? 1) || 1,
  };
  return payloadBytes(received) <= MAX_MESSAGE_PAYLOAD_BYTES ? received : compact(received, body);
}

/** A valid event keeps only the fields the pipeline reads; anything else becomes its quarantine reason. */
function compact(received: ReceivedMessage, body: string): ReceivedMessage {
  const result = validateLoginMessage(body);
  if (result.ok) return { ...received, body: JSON.stringify(result.event) };
  const reason = `body of ${received.bodyBytes} bytes is too large to keep, and ${result.reason}`;
  return { ...received, body: null, rejectedReason: reason };
}

/** Makes messages visible again at once, so the next batch takes them instead of waiting out the timeout. */
async function release(
  deps: ActivityDeps,
  queueUrl: string,
  messages: Pick<Message, 'ReceiptHandle'>[],
): Promise<void> {
  await changeVisibility(
    deps.sqs,
    queueUrl,
    messages.map((message) => message.ReceiptHandle!),
    0,
  );
}
