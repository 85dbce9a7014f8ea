/**
 * The ways of draining a queue that the benchmark compares, each a function of the same settings. They run in a
 * process of their own (bench/mode-main.ts), so each one's CPU time and peak RSS are its own.
 */
import { DeleteMessageBatchCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { MockActivityEnvironment } from '@temporalio/testing';
import { Client as PgClient } from 'pg';
import { createHeldActivities, createSharedActivities } from '../src/activities';
import { awsClientSettings } from '../src/aws';
import type { Config } from '../src/config';
import type { WorkerKeys } from '../src/secrets';
import { transformBatch } from '../src/core/transform-batch';
import type { ReceivedMessage } from '../src/core/types';
import { openActivityDeps } from '../src/activities/open-deps';
import { claimKeyState } from '../src/pii/key-state';
import { createSqsClient, getQueueDepth, resolveQueueUrl, SQS_BATCH_LIMIT } from '../src/sqs';

interface ModeSettings {
  config: Config;
  keys: WorkerKeys;
  /** Batches in flight (the pipeline's); the ceiling runs as many receive loops. */
  concurrency: number;
  batchSize: number;
  /** The pipeline's bound on one batch's bytes. */
  maxBatchBytes: number;
}

/** What a mode measured: every message drained, and how long each batch took from receive to delete. */
export interface ModeRun {
  messages: number;
  /** From the first receive to the last delete. */
  seconds: number;
  batchMs: number[];
}

type Lane = () => Promise<{ messages: number; ms: number } | 'empty'>;

/**
 * Runs `concurrency` lanes until each finds the queue empty; times every batch. A lane whose batch fails goes on
 * with the next (as a consumer's supervisor would restart it): its messages come back when their visibility ends.
 */
async function drainWithLanes(lanes: Lane[], sqs: SQSClient, queueUrl: string): Promise<ModeRun> {
  const run: ModeRun = { messages: 0, seconds: 0, batchMs: [] };
  const started = Date.now();
  let lastDelete = started;
  await Promise.all(
    lanes.map(async (lane) => {
      for (;;) {
        const batch = await lane().catch((error: unknown) => {
          process.stderr.write(`a batch failed, the lane goes on: ${String(error)}\n`);
          return { messages: 0, ms: 0 };
        });
        if (batch !== 'empty' && batch.messages === 0) continue;
        if (batch === 'empty') {
          const depth = await getQueueDepth(sqs, queueUrl);
          if (depth.visible + depth.inFlight === 0) return;
          continue;
        }
        run.messages += batch.messages;
        run.batchMs.push(batch.ms);
        lastDelete = Date.now();
      }
    }),
  );
  run.seconds = (lastDelete - started) / 1000;
  return run;
}

/** The SQS emulator alone: receive 10, delete those 10, in as many loops as the pipeline has batches in flight. */
async function ceiling(settings: ModeSettings): Promise<ModeRun> {
  const sqs = createSqsClient(settings.config);
  const queueUrl = await resolveQueueUrl(sqs, settings.config);
  const lane: Lane = async () => {
    const started = Date.now();
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: SQS_BATCH_LIMIT, WaitTimeSeconds: 1 }),
    );
    if (Messages.length === 0) return 'empty';
    await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })),
      }),
    );
    return { messages: Messages.length, ms: Date.now() - started };
  };
  try {
    return await drainWithLanes(
      Array.from({ length: settings.concurrency }, () => lane),
      sqs,
      queueUrl,
    );
  } finally {
    sqs.destroy();
  }
}

/**
 * The pipeline's own activities (receive → mask → load → delete) in plain loops, without Temporal: the batch held
 * in memory between steps, as a worker holds it.
 */
async function direct(settings: ModeSettings): Promise<ModeRun> {
  const deps = await openActivityDeps(settings.config, settings.keys, settings.concurrency + 2);
  const activities = { ...createSharedActivities(deps), ...createHeldActivities(deps) };
  const queueUrl = await deps.queueUrl();
  const lane = (): Lane => {
    // The activities read their context (heartbeats, cancellation); outside a worker a mock one stands in.
    const context = new MockActivityEnvironment();
    const run = <A, R>(activity: (input: A) => Promise<R>, input: A) =>
      context.run<[A], R, typeof activity>(activity, input);
    return async () => {
      const started = Date.now();
      const { batch } = await run(activities.receiveHeldBatch, {
        maxMessages: settings.batchSize,
        maxBytes: settings.maxBatchBytes,
        waitTimeSeconds: 1,
        leaseSeconds: 60,
        holdSeconds: 600,
      });
      if (!batch) return 'empty';
      await run(activities.maskHeldBatch, batch.id);
      const load = await run(activities.loadHeldBatch, batch.id);
      if (load.loaded + load.quarantined + load.duplicates !== batch.messages) throw new Error('load lost a message');
      await run(activities.deleteHeldBatch, batch.id);
      return { messages: batch.messages, ms: Date.now() - started };
    };
  };
  try {
    return await drainWithLanes(Array.from({ length: settings.concurrency }, lane), deps.sqs, queueUrl);
  } finally {
    await deps.close();
  }
}

/**
 * A naive consumer, as the known solutions write it: one loop that receives 10, inserts each row with its own
 * commit, and deletes those 10 with one DeleteMessageBatch, on an SQS client with the SDK's defaults. It masks with
 * this project's code, so only the shape of the loop differs.
 */
async function naive(settings: ModeSettings): Promise<ModeRun> {
  const sqs = new SQSClient(awsClientSettings(settings.config.sqsEndpoint, settings.config.AWS_REGION));
  const queueUrl = await resolveQueueUrl(sqs, settings.config);
  const db = new PgClient({ connectionString: settings.config.databaseUrl });
  await db.connect();
  const { keyring, sealTo } = settings.keys;
  const keys = keyring.keySet(await claimKeyState(db, keyring));
  const lane: Lane = async () => {
    const started = Date.now();
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: SQS_BATCH_LIMIT,
        WaitTimeSeconds: 1,
        MessageSystemAttributeNames: ['SentTimestamp'],
      }),
    );
    if (Messages.length === 0) return 'empty';
    for (const message of Messages) {
      const received: ReceivedMessage = {
        messageId: message.MessageId!,
        receiptHandle: message.ReceiptHandle!,
        body: message.Body ?? '',
        bodyBytes: Buffer.byteLength(message.Body ?? ''),
        sentTimestamp: Number(message.Attributes?.SentTimestamp ?? Date.now()),
        receiveCount: 1,
      };
      const { rows, quarantined } = transformBatch([received], keys, sealTo, received.messageId);
      for (const row of rows) {
        await db.query(
          `INSERT INTO user_logins (message_id, user_id, device_type, masked_ip, masked_device_id, ip_valid, locale,
                                    app_version, app_version_text, create_date, sent_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (message_id, create_date) DO NOTHING`,
          [
            row.message_id,
            row.user_id,
            row.device_type,
            row.masked_ip,
            row.masked_device_id,
            row.ip_valid,
            row.locale,
            row.app_version,
            row.app_version_text,
            row.create_date,
            row.sent_at,
          ],
        );
      }
      for (const record of quarantined) {
        await db.query(
          `INSERT INTO quarantined_messages (message_id, reason, body_bytes) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
          [record.message_id, record.reason, record.body_bytes],
        );
      }
    }
    await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })),
      }),
    );
    return { messages: Messages.length, ms: Date.now() - started };
  };
  try {
    return await drainWithLanes([lane], sqs, queueUrl);
  } finally {
    await db.end();
    sqs.destroy();
  }
}

export const IN_PROCESS_MODES = { ceiling, direct, naive } as const;
export type InProcessMode = keyof typeof IN_PROCESS_MODES;
