import { Runtime } from '@temporalio/worker';
import type { ActivityDeps } from '../activities/deps';
import { getQueueDepth } from '../sqs';
import { recordDeadLetters, recordQueueDepth } from '.';

/** The most of SQS's time the samples may take: on a slow server they wait longer between them. */
const SHARE_OF_CALLS = 0.005;
/** A sample skipped because the worker's SQS calls are waiting for a place is taken anyway after this long. */
const LONGEST_GAP_MS = 60_000;

/**
 * Samples the queue's depth into the `login_etl_queue_messages` gauge (and the dead-letter queue's, when
 * `deadLetterUrl` finds one, into `login_etl_dead_letter_messages`) until stopped, drain or no drain: every
 * `intervalMs`, or less often when SQS answers so slowly that sampling would take more than a small share of the
 * calls it serves; while the worker's calls wait for a place under its limit, a sample yields to them (up to a
 * minute).
 */
export function sampleQueueDepth(
  deps: Pick<ActivityDeps, 'sqs' | 'sqsGate' | 'queueUrl'>,
  deadLetterUrl?: () => Promise<string>,
  intervalMs = 5_000,
): () => void {
  const meter = Runtime.instance().metricMeter;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let sampledAt = 0;
  const sample = async () => {
    if (!deps.sqsGate.saturated || Date.now() - sampledAt >= LONGEST_GAP_MS) {
      sampledAt = Date.now();
      // A failed sample (SQS unreachable) leaves the last values; the drain itself reports the outage.
      await deps
        .queueUrl()
        .then((queueUrl) => getQueueDepth(deps.sqs, queueUrl))
        .then((depth) => recordQueueDepth(meter, depth))
        .catch(() => undefined);
      // No dead-letter queue (a setup without one) is no error: the gauge is simply absent.
      await deadLetterUrl?.()
        .then((url) => getQueueDepth(deps.sqs, url))
        .then((depth) => recordDeadLetters(meter, depth))
        .catch(() => undefined);
    }
    if (stopped) return;
    const interval = Math.max(intervalMs, 1000 / (deps.sqsGate.callsPerSecond() * SHARE_OF_CALLS));
    timer = setTimeout(() => void sample(), interval).unref();
  };
  void sample();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
