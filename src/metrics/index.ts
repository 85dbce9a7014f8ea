import type { MetricMeter } from '@temporalio/common';
import type { QueueDepth } from '../sqs';

/**
 * The pipeline's own Prometheus metrics, served by the worker beside the Temporal SDK's (`temporal_*`); pure, since
 * the workflow bundle imports them. Counters count what this worker did, so the sums over all workers are the
 * pipeline's totals; a redelivered message is received twice and counted once as loaded and once as a duplicate.
 */
export const PIPELINE_METRICS = {
  received: { name: 'login_etl_messages_received', help: 'Messages received from SQS' },
  loaded: { name: 'login_etl_messages_loaded', help: 'Rows inserted into user_logins' },
  duplicates: { name: 'login_etl_messages_duplicate', help: 'Messages already loaded or quarantined (redeliveries)' },
  quarantined: { name: 'login_etl_messages_quarantined', help: 'Messages kept in quarantined_messages' },
  deleted: { name: 'login_etl_messages_deleted', help: 'Messages deleted from SQS after their commit' },
  repeated: {
    name: 'login_etl_messages_repeated',
    help: 'Messages SQS returned twice within one receive: kept once, with the newest receipt handle',
  },
  untrustedOrigin: {
    name: 'login_etl_messages_untrusted_origin',
    help: 'Messages with redrive attributes the redrive did not sign, or malformed: they keep their own id and time',
  },
  staleDeletes: {
    name: 'login_etl_messages_stale_delete',
    help: 'Deletes refused or silently void because the message was received again elsewhere (deleted there)',
  },
  uncommitted: {
    name: 'login_etl_messages_uncommitted',
    help: 'Messages a delete found no committed row or record for (a load completed by hand): left in the queue',
  },
  lostBatches: {
    name: 'login_etl_batches_lost',
    help: 'Batches lost with the worker that held them: their messages come back to the queue',
  },
  oldestReceivedAge: {
    name: 'login_etl_oldest_received_message_age_seconds',
    help: 'Age (since SQS took it) of the oldest message in the latest receive that brought messages',
  },
  deadLetterMessages: {
    name: 'login_etl_dead_letter_messages',
    help: 'Messages in the dead-letter queue (visible and in flight), sampled with the queue depth',
  },
  batchDuration: { name: 'login_etl_batch_duration_seconds', help: 'One batch from receive to delete' },
  queueMessages: { name: 'login_etl_queue_messages', help: 'SQS queue depth by state: visible, in_flight, delayed' },
  sqsLimit: { name: 'login_etl_sqs_concurrency_limit', help: 'SQS calls this worker lets be in flight at once' },
  sqsCallDuration: { name: 'login_etl_sqs_call_duration_seconds', help: 'One SQS call attempt, by operation' },
  sqsThrottles: { name: 'login_etl_sqs_throttled', help: 'SQS calls refused by throttling, by operation' },
  sqsRetries: { name: 'login_etl_sqs_retries', help: 'SQS calls tried again, by operation and reason' },
} as const;

/** Buckets for the batch duration, from a 200-message batch on a fast path to one waiting out retries. */
export const BATCH_DURATION_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

/** From a call to a local emulator to a long poll's 20 s. */
export const SQS_CALL_DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30];

export type MessageCounter =
  | 'received'
  | 'loaded'
  | 'duplicates'
  | 'quarantined'
  | 'deleted'
  | 'repeated'
  | 'untrustedOrigin'
  | 'staleDeletes'
  | 'uncommitted';

/** Adds to the message counters (exported with the `_total` suffix). */
export function countMessages(meter: MetricMeter, counts: Partial<Record<MessageCounter, number>>): void {
  for (const [counter, value] of Object.entries(counts) as [MessageCounter, number][]) {
    const { name, help } = PIPELINE_METRICS[counter];
    if (value > 0) meter.createCounter(name, 'messages', help).add(value);
  }
}

/** The age of the oldest message a receive brought, from SQS's SentTimestamp. */
export function recordOldestReceived(meter: MetricMeter, sentTimestamps: number[], now: number): void {
  if (sentTimestamps.length === 0) return;
  const { name, help } = PIPELINE_METRICS.oldestReceivedAge;
  meter.createGauge(name, 'float', 's', help).set(Math.max(0, (now - Math.min(...sentTimestamps)) / 1000));
}

/** Sets the dead-letter queue's gauge. */
export function recordDeadLetters(meter: MetricMeter, depth: QueueDepth): void {
  const { name, help } = PIPELINE_METRICS.deadLetterMessages;
  meter.createGauge(name, 'int', 'messages', help).set(depth.visible + depth.inFlight);
}

/** Sets the queue depth gauge, one series per state. */
export function recordQueueDepth(meter: MetricMeter, depth: QueueDepth): void {
  const { name, help } = PIPELINE_METRICS.queueMessages;
  const gauge = meter.createGauge(name, 'int', 'messages', help);
  gauge.set(depth.visible, { state: 'visible' });
  gauge.set(depth.inFlight, { state: 'in_flight' });
  gauge.set(depth.delayed, { state: 'delayed' });
}
