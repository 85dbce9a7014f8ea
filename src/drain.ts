import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { Config } from './config';
import type { QueueDepth } from './sqs';
import { drainQueue, statsQuery } from './workflows';
import {
  resolveDrainOptions,
  statsSentence,
  sumStats,
  type DrainInput,
  type DrainOptions,
  type DrainStats,
} from './workflows/drain-options';
import { DRAIN_SEARCH_ATTRIBUTES } from './workflows/search-attributes';
import { registerDrainSearchAttributes } from './temporal/register-search-attributes';

export interface DrainSummary extends DrainStats {
  workflowId: string;
  runId: string;
  seconds: number;
  /** Seconds during which batches with messages were in flight (`activeMs`): the rest was waiting or confirming. */
  activeSeconds: number;
  /** Messages received per second of active time. */
  messagesPerSecond: number;
}

/** The figures a summary derives from a drain's totals and its wall-clock time. */
function summaryFigures(stats: DrainStats, seconds: number) {
  const activeSeconds = Math.round(stats.activeMs / 100) / 10;
  return {
    seconds: Math.round(seconds * 10) / 10,
    activeSeconds,
    messagesPerSecond: Math.round(stats.received / Math.max(activeSeconds || seconds, 0.001)),
  };
}

export interface DrainProgress {
  stats: DrainStats;
  elapsedSeconds: number;
  /** The queue's counts (ApproximateNumberOfMessages…), when the caller can read them. */
  queue?: QueueDepth;
  /** Set when nobody polls the task queue: the drain cannot move until a worker starts. */
  noWorker: boolean;
}

export const defaultWorkflowId = (config: Pick<Config, 'SQS_QUEUE_NAME'>): string => `drain-${config.SQS_QUEUE_NAME}`;

/** The most drains one command starts on a queue; each holds DATABASE_POOL_SIZE-bounded connections while it loads. */
const MAX_DRAINS = 16;

/**
 * The ids of `drains` drains of one queue: `drain-<queue>` for one, `drain-<queue>-1` … `drain-<queue>-N` for
 * more. start-workflow, schedule and control all name them so.
 */
export function drainWorkflowIds(config: Pick<Config, 'SQS_QUEUE_NAME'>, drains = 1): string[] {
  if (!Number.isInteger(drains) || drains < 1 || drains > MAX_DRAINS) {
    throw new RangeError(`--drains must be a whole number from 1 to ${MAX_DRAINS}`);
  }
  const base = defaultWorkflowId(config);
  return drains === 1 ? [base] : Array.from({ length: drains }, (_, index) => `${base}-${index + 1}`);
}

/** The totals of several drains of one queue, as one summary; ids and run ids comma-separated. */
export function combineSummaries(summaries: DrainSummary[]): DrainSummary {
  // Drains of one queue run side by side: their active time together is that of the longest, not the sum.
  const stats = { ...sumStats(summaries), activeMs: Math.max(...summaries.map((summary) => summary.activeMs)) };
  return {
    workflowId: summaries.map((summary) => summary.workflowId).join(','),
    runId: summaries.map((summary) => summary.runId).join(','),
    ...stats,
    ...summaryFigures(stats, Math.max(...summaries.map((summary) => summary.seconds))),
  };
}

/** The progress of several drains of one queue as one line's worth: their totals, the queue they share. */
export function combineProgress(all: DrainProgress[]): DrainProgress {
  return {
    stats: sumStats(all.map((progress) => progress.stats)),
    elapsedSeconds: Math.max(...all.map((progress) => progress.elapsedSeconds)),
    queue: all.find((progress) => progress.queue)?.queue,
    noWorker: all.some((progress) => progress.noWorker),
  };
}

type DrainConfig = Pick<Config, 'TEMPORAL_TASK_QUEUE' | 'TEMPORAL_NAMESPACE' | 'SQS_QUEUE_NAME'>;

/**
 * The workflow arguments and search attributes of a new drain (or of a schedule's drains). Search attributes are
 * on unless the caller turned them off and the namespace has them, registered here if missing and allowed.
 */
export async function drainStartOptions(client: Client, config: DrainConfig, options: Partial<DrainOptions> = {}) {
  const searchAttributes =
    options.searchAttributes !== false && (await registerDrainSearchAttributes(client, config.TEMPORAL_NAMESPACE));
  const args: [DrainInput] = [{ options: resolveDrainOptions({ ...options, searchAttributes }) }];
  return {
    args,
    typedSearchAttributes: searchAttributes
      ? [{ key: DRAIN_SEARCH_ATTRIBUTES.queue, value: config.SQS_QUEUE_NAME }]
      : [],
  };
}

/**
 * Starts a drain, or attaches to the running one with the same workflow id, and waits for its end while
 * reporting progress from its `stats` query.
 */
export async function runDrain(
  client: Client,
  config: DrainConfig,
  request: {
    workflowId: string;
    options?: Partial<DrainOptions>;
    onProgress?: (progress: DrainProgress) => void;
    /** Reads the queue's counts for the progress line. */
    queueDepth?: () => Promise<QueueDepth>;
    progressIntervalMs?: number;
  },
): Promise<DrainSummary> {
  const started = Date.now();
  const handle = await client.workflow.start(drainQueue, {
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    workflowId: request.workflowId,
    ...(await drainStartOptions(client, config, request.options)),
    workflowIdConflictPolicy: 'USE_EXISTING',
  });
  const reportProgress = async () => {
    const [stats, noWorker, queue] = await Promise.all([
      handle.query(statsQuery).catch(() => undefined),
      taskQueuePollers(client, config)
        .then((pollers) => pollers.size === 0)
        .catch(() => false),
      request.queueDepth?.().catch(() => undefined),
    ]);
    if (stats) request.onProgress?.({ stats, elapsedSeconds: (Date.now() - started) / 1000, noWorker, queue });
  };
  const timer = request.onProgress
    ? setInterval(() => void reportProgress(), request.progressIntervalMs ?? 2_000)
    : undefined;
  try {
    const stats = await handle.result();
    const { runId } = await client.workflow.getHandle(request.workflowId).describe();
    return {
      workflowId: request.workflowId,
      runId,
      ...stats,
      ...summaryFigures(stats, (Date.now() - started) / 1000),
    };
  } finally {
    clearInterval(timer);
  }
}

/** The identities of the workers polling the pipeline's task queue, for its workflow or its activity tasks. */
export async function taskQueuePollers(
  client: Client,
  config: Pick<Config, 'TEMPORAL_TASK_QUEUE' | 'TEMPORAL_NAMESPACE'>,
  kind: 'workflow' | 'activity' = 'workflow',
): Promise<Set<string>> {
  const { TASK_QUEUE_TYPE_WORKFLOW, TASK_QUEUE_TYPE_ACTIVITY } = temporal.api.enums.v1.TaskQueueType;
  const { pollers } = await client.workflowService.describeTaskQueue({
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: { name: config.TEMPORAL_TASK_QUEUE },
    taskQueueType: kind === 'workflow' ? TASK_QUEUE_TYPE_WORKFLOW : TASK_QUEUE_TYPE_ACTIVITY,
  });
  return new Set(pollers.map((poller) => poller.identity ?? ''));
}

/**
 * A one-line warning when the batches that may load at once outnumber the database connections of the workers
 * polling (assuming they run with this process's DATABASE_POOL_SIZE): loads would wait for a connection, and past
 * the pool's 10 s connection timeout, fail and retry.
 */
export function poolSizeWarning(poolSize: number, workers: number, lanes: number): string | undefined {
  if (workers === 0 || poolSize * workers >= lanes) return undefined;
  return (
    `${lanes} batches may load at once, but ${workers} worker(s) × DATABASE_POOL_SIZE ${poolSize} give ` +
    `${poolSize * workers} connections: raise DATABASE_POOL_SIZE to at least ${Math.ceil(lanes / workers)}, or start fewer drains`
  );
}

/** The one-line result of a drain, as start-workflow and the demo print it. */
export function formatSummary(summary: DrainSummary): string {
  const waiting = Math.max(0, Math.round((summary.seconds - summary.activeSeconds) * 10) / 10);
  return (
    `Drained in ${summary.seconds} s: ${statsSentence(summary)}. ` +
    `Batches were in flight for ${summary.activeSeconds} s (${summary.messagesPerSecond} msg/s); ` +
    `${waiting} s went to waiting for messages and confirming the queue empty.`
  );
}

export function formatProgress({ stats, elapsedSeconds, noWorker, queue }: DrainProgress): string {
  const rate = Math.round(stats.received / Math.max(elapsedSeconds, 0.001));
  const backlog = queue
    ? `; queue ${queue.visible} waiting, ${queue.inFlight} in flight` +
      (rate > 0 && queue.visible > 0 ? `, ETA ${Math.ceil(queue.visible / rate)} s` : '')
    : '';
  const line = `${statsSentence(stats)} (${rate} msg/s, ${Math.round(elapsedSeconds)} s)${backlog}`;
  return noWorker ? `${line}: no worker polls the task queue, start one with \`npm run worker\`` : line;
}
