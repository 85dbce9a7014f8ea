import { Runtime } from '@temporalio/worker';
import type { ActivityDeps } from '../activities/deps';
import { getQueueDepth } from '../sqs';
import { recordQueueDepth } from '.';

/** Samples the queue's depth into the `login_etl_queue_messages` gauge until stopped, drain or no drain. */
export function sampleQueueDepth(deps: Pick<ActivityDeps, 'sqs' | 'queueUrl'>, intervalMs = 5_000): () => void {
  const meter = Runtime.instance().metricMeter;
  // A failed sample (SQS unreachable) leaves the last values; the drain itself reports the outage.
  const sample = () =>
    void deps
      .queueUrl()
      .then((queueUrl) => getQueueDepth(deps.sqs, queueUrl))
      .then((depth) => recordQueueDepth(meter, depth))
      .catch(() => undefined);
  sample();
  const timer = setInterval(sample, intervalMs);
  return () => clearInterval(timer);
}
