import { TimeoutType } from '@temporalio/common';
import {
  ActivityFailure,
  ApplicationFailure,
  condition,
  continueAsNew,
  defineQuery,
  defineSignal,
  isCancellation,
  metricMeter,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  TimeoutFailure,
  upsertSearchAttributes,
  workflowInfo,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { HeldActivities, PipelineActivities, SharedActivities } from '../activities';
import type { DeleteBatchResult } from '../activities/delete-batch';
import type { LoadBatchResult } from '../activities/load-batch';
import type { ReceiveHeldBatchResult } from '../activities/receive-batch';
import { FAILURE_TYPES, NON_RETRYABLE_FAILURE_TYPES } from '../core/failure-types';
import { PIPELINE_METRICS } from '../metrics';
import type { QueueDepth } from '../sqs';
import {
  emptyStats,
  resolveDrainOptions,
  type DrainControl,
  type DrainInput,
  type DrainOptions,
  type DrainStats,
  statsSentence,
} from './drain-options';
import { EmptyCheck } from './empty-check';
import { drainSearchAttributeUpdate, drainState, type DrainState } from './search-attributes';

/**
 * Changes to drainQueue's commands, each behind patched() so that runs started by an older worker replay
 * unchanged (docs/design.md, "Changing the workflow"; test/replay/ proves it). Remove one only once no run or schedule
 * of a release without it can still be replayed.
 */
export const PATCHES = {
  /** A stop that arrives while the lanes wind down for continue-as-new ends the drain instead of being lost. */
  stopDuringWindDown: 'stop-during-wind-down',
  /** A failed batch lets the other batches in flight finish, then fails the drain with the totals. */
  failedBatchWindsDown: 'failed-batch-winds-down',
  /**
   * Batches live in the memory of the worker that received them; history carries their id and counts. Decided once
   * per run: a run started before it keeps carrying its batches through history until it continues as new.
   */
  heldBatches: 'held-batches',
  /** An until-empty drain ends only after zero counts read repeatedly over a confirmation window. Once per run. */
  emptyConfirmed: 'empty-confirmed',
  /**
   * While the queue is empty one lane polls it and the others wait until it finds messages: the confirmation
   * window (or an idle continuous drain) costs one receive at a time, not one per lane. Once per run.
   */
  oneLanePollsEmpty: 'one-lane-polls-empty',
} as const;

export const statsQuery = defineQuery<DrainStats>('stats');
export const controlQuery = defineQuery<DrainControl>('control');
/** No new batch starts until `resume`; batches in flight finish. */
export const pauseSignal = defineSignal('pause');
export const resumeSignal = defineSignal('resume');
/** The batches in flight finish, then the drain completes with its totals. */
export const stopSignal = defineSignal('stop');

/** Infrastructure errors (SQS, Postgres, a worker lost) are retried with backoff; about 15 minutes of outage. */
const INFRASTRUCTURE_RETRY = {
  initialInterval: '1 second',
  backoffCoefficient: 2,
  maximumInterval: '30 seconds',
  maximumAttempts: 35,
  nonRetryableErrorTypes: NON_RETRYABLE_FAILURE_TYPES,
};

const IO_ACTIVITY: ActivityOptions = {
  // The long poll (at most 20 s) plus filling the batch; heartbeats show a lost worker within 30 s.
  startToCloseTimeout: '1 minute',
  heartbeatTimeout: '30 seconds',
  retry: INFRASTRUCTURE_RETRY,
};

// Pure computation: a retry only helps against a lost worker, and bad data is quarantined, never thrown.
const CPU_ACTIVITY: ActivityOptions = {
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '10 seconds', maximumAttempts: 5 },
};

/**
 * A held batch's steps run on the task queue of the worker that holds it. If that worker is gone, no other worker
 * will ever start them, so they give up soon; a worker that dies mid-step is noticed by its missing heartbeats.
 */
const HELD_STEP: ActivityOptions = { scheduleToStartTimeout: '15 seconds', heartbeatTimeout: '15 seconds' };

/**
 * How long a worker holds a batch at most: past the load's retry budget (INFRASTRUCTURE_RETRY), so only a batch
 * the workflow has stopped waiting for is given up.
 */
const HOLD_SECONDS = 45 * 60;

/** Activity ids that name the batch and step (`batch-7.load`), so the Web UI lists each batch as its four steps. */
const activityId = (batch: number, step: string) => `batch-${batch}.${step}`;

/** The receive and the settling of a lost batch, on the drain's own task queue, where any worker may take them. */
function sharedActivities(batch: number, options: DrainOptions) {
  // Without eager dispatch, each activity goes through the task queue, so batches spread over all workers.
  const id = (step: string) => ({ activityId: activityId(batch, step), allowEagerDispatch: options.eagerActivities });
  return {
    receiveHeldBatch: proxyActivities<SharedActivities>({ ...IO_ACTIVITY, ...id('receive') }).receiveHeldBatch,
    settleLostBatch: proxyActivities<SharedActivities>({ ...IO_ACTIVITY, ...id('settle') }).settleLostBatch,
  };
}

/** The steps of a batch held by the worker at `taskQueue`. */
function heldBatchSteps(batch: number, taskQueue: string) {
  const on = (step: string, base: ActivityOptions) =>
    proxyActivities<HeldActivities>({ ...base, ...HELD_STEP, taskQueue, activityId: activityId(batch, step) });
  return {
    maskHeldBatch: on('mask', CPU_ACTIVITY).maskHeldBatch,
    loadHeldBatch: on('load', IO_ACTIVITY).loadHeldBatch,
    deleteHeldBatch: on('delete', IO_ACTIVITY).deleteHeldBatch,
  };
}

/** The worker holding the batch is gone (its step was never started) or no longer holds it. */
const isBatchLost = (error: unknown): boolean =>
  error instanceof ActivityFailure &&
  ((error.cause instanceof TimeoutFailure && error.cause.timeoutType === TimeoutType.SCHEDULE_TO_START) ||
    (error.cause instanceof ApplicationFailure && error.cause.type === FAILURE_TYPES.batchNotHeld));

/**
 * The four activities of one batch carried through history, as drains started by 0.1.0 run them; `localMask` is
 * that release's option to mask in a local activity.
 */
function carriedBatchActivities(batch: number, options: DrainOptions & { localMask?: boolean }) {
  const id = (step: string) => ({ activityId: activityId(batch, step), allowEagerDispatch: options.eagerActivities });
  return {
    receiveBatch: proxyActivities<PipelineActivities>({ ...IO_ACTIVITY, ...id('receive') }).receiveBatch,
    maskBatch: options.localMask
      ? proxyLocalActivities<PipelineActivities>(CPU_ACTIVITY).maskBatch
      : proxyActivities<PipelineActivities>({ ...CPU_ACTIVITY, ...id('mask') }).maskBatch,
    loadBatch: proxyActivities<PipelineActivities>({ ...IO_ACTIVITY, ...id('load') }).loadBatch,
    deleteBatch: proxyActivities<PipelineActivities>({ ...IO_ACTIVITY, ...id('delete') }).deleteBatch,
  };
}

/** Bounds each run's history (about 25 events a batch) well below where the Web UI gets slow. */
const MAX_BATCHES_PER_RUN = 100;

/** The longest a long poll may wait (SQS's own limit). */
const MAX_WAIT_SECONDS = 20;

/**
 * Drains the login queue: receive → mask → load → delete, with `concurrency` batches in flight. A message is
 * deleted only after its row or quarantine record is committed, so a crash anywhere leaves it to be received
 * again, and the load's ON CONFLICT turns the redelivery into a counted duplicate. Before continuing as new, the
 * batches in flight finish, so no batch spans two runs. A batch that fails after its retries (a quarter of an
 * hour of outage, or a failure no retry mends) fails the drain, loudly, once the other batches in flight are
 * done: going on would only meet the same fault, and its messages come back to the next drain.
 */
export async function drainQueue(input: DrainInput = {}): Promise<DrainStats> {
  const options = validOptions(input);
  const stats: DrainStats = { ...emptyStats(), ...input.stats };
  const control: DrainControl = { paused: input.paused ?? false, stopping: false };
  /** Batches this run counts toward continue-as-new; `sequence` numbers every receive, for unique activity ids. */
  let counted = 0;
  let sequence = 0;
  const holdsBatches = patched(PATCHES.heldBatches);
  const emptyCheck = new EmptyCheck(options, patched(PATCHES.emptyConfirmed));
  const oneLanePollsEmpty = patched(PATCHES.oneLanePollsEmpty);
  /** The last receive found nothing; while so, `polling` says a lane is receiving and the others wait for it. */
  let empty = false;
  let polling = false;
  let outcome: 'drained' | 'stopped' | 'continue-as-new' | 'failed' | undefined;
  let failure: { batch: number; error: unknown } | undefined;

  let published: string | undefined;
  /** Upserts totals and state when they changed: one history event per batch at most, none while idle. */
  const publish = (state: DrainState = drainState(control)) => {
    if (!options.searchAttributes) return;
    const update = drainSearchAttributeUpdate(stats, state);
    const serialized = JSON.stringify(update.map(({ value }) => value));
    if (serialized === published) return;
    published = serialized;
    upsertSearchAttributes(update);
  };
  const setControl = (change: Partial<DrainControl>) => {
    Object.assign(control, change);
    publish();
  };
  // Recorded by the worker that runs the workflow task, never on replay.
  const batchDuration = metricMeter.createHistogram(
    PIPELINE_METRICS.batchDuration.name,
    'float',
    's',
    PIPELINE_METRICS.batchDuration.help,
  );
  setHandler(statsQuery, () => stats);
  setHandler(controlQuery, () => control);
  setHandler(pauseSignal, () => setControl({ paused: true }));
  setHandler(resumeSignal, () => setControl({ paused: false }));
  setHandler(stopSignal, () => setControl({ stopping: true }));
  publish();

  const lane = async () => {
    while (outcome === undefined) {
      await condition(() => !control.paused || control.stopping || outcome !== undefined);
      if (control.stopping) outcome ??= 'stopped';
      if (outcome !== undefined) return;
      if (counted >= MAX_BATCHES_PER_RUN || workflowInfo().continueAsNewSuggested) {
        outcome ??= 'continue-as-new';
        return;
      }
      const polls = oneLanePollsEmpty && empty;
      if (polls) {
        if (polling) {
          await condition(() => !empty || control.paused || control.stopping || outcome !== undefined);
          continue;
        }
        polling = true;
      }
      const batch = ++sequence;
      try {
        await (holdsBatches ? runHeldBatch(batch) : runCarriedBatch(batch));
      } catch (error) {
        if (isCancellation(error) || !patched(PATCHES.failedBatchWindsDown)) throw error;
        failure ??= { batch, error };
        outcome = 'failed';
      } finally {
        if (polls) polling = false;
      }
    }
  };

  const receiveInput = () => ({
    maxMessages: options.batchSize,
    maxBytes: options.maxBatchBytes,
    waitTimeSeconds: options.mode === 'continuous' ? MAX_WAIT_SECONDS : options.emptyGraceSeconds,
  });
  /** Notes a receive that found nothing; an until-empty drain may be done. */
  const receivedNothing = (queueDepth: QueueDepth | undefined) => {
    empty = true;
    if (options.mode === 'until-empty' && emptyCheck.isEmptyAfter(queueDepth, Date.now())) outcome ??= 'drained';
    // An idle continuous drain still moves toward continue-as-new.
    if (options.mode === 'continuous') counted++;
  };
  /** A receive brought messages: the queue is not empty, and lanes waiting on the poller go back to work. */
  const receivedSome = () => {
    empty = false;
    emptyCheck.received();
  };
  const countLoad = (load: Omit<LoadBatchResult, 'duplicates' | 'rejected'> & Partial<LoadBatchResult>) => {
    stats.loaded += load.loaded;
    stats.quarantined += load.quarantined;
    stats.duplicates += load.duplicates ?? 0;
    stats.rejected += load.rejected ?? 0;
  };
  const countRemoval = (removal: DeleteBatchResult) => {
    stats.deleted += removal.deleted;
    stats.staleDeletes += removal.stale;
    // Absent from the results of releases before verified deletes.
    stats.uncommitted += removal.uncommitted ?? 0;
  };
  const batchDone = (batchStarted: number) => {
    stats.batches++;
    batchDuration.record((Date.now() - batchStarted) / 1000);
    publish();
  };

  const runHeldBatch = async (batch: number) => {
    const batchStarted = Date.now();
    const received: ReceiveHeldBatchResult = await sharedActivities(batch, options).receiveHeldBatch({
      ...receiveInput(),
      leaseSeconds: options.visibilityTimeoutSeconds,
      holdSeconds: HOLD_SECONDS,
    });
    if (!received.batch) return receivedNothing(received.queueDepth);
    receivedSome();
    counted++;
    const held = received.batch;
    const steps = heldBatchSteps(batch, held.taskQueue);
    stats.received += held.messages;
    let loading = false;
    try {
      await steps.maskHeldBatch(held.id);
      loading = true;
      countLoad(await steps.loadHeldBatch(held.id));
      loading = false;
      const removal = await steps.deleteHeldBatch(held.id);
      countRemoval(removal);
    } catch (error) {
      if (!isBatchLost(error)) throw error;
      // Its messages come back when their lease runs out; what its load committed counts here, not as duplicates.
      if (loading) countLoad(await sharedActivities(batch, options).settleLostBatch(held.id));
      stats.lostBatches++;
    }
    batchDone(batchStarted);
  };

  const runCarriedBatch = async (batch: number) => {
    const activities = carriedBatchActivities(batch, options);
    const batchStarted = Date.now();
    const received = await activities.receiveBatch({
      ...receiveInput(),
      visibilityTimeoutSeconds: options.visibilityTimeoutSeconds,
    });
    if (received.messages.length === 0) return receivedNothing(received.queueDepth);
    receivedSome();
    counted++;
    const transformed = await activities.maskBatch(received.messages);
    const load = await activities.loadBatch(transformed);
    const removal = await activities.deleteBatch(
      received.messages.map(({ messageId, receiptHandle }) => ({ messageId, receiptHandle })),
    );
    stats.received += received.messages.length;
    countLoad(load);
    countRemoval(removal);
    batchDone(batchStarted);
  };

  await Promise.all(Array.from({ length: options.concurrency }, lane));
  if (failure) {
    publish('failed');
    // Its messages were not deleted: they come back after their visibility timeout, for the next drain.
    throw ApplicationFailure.create({
      type: FAILURE_TYPES.batchFailed,
      message: `batch ${failure.batch} failed after its retries; the batches in flight finished (${statsSentence(stats)})`,
      nonRetryable: true,
      cause: failure.error as Error,
      details: [stats],
    });
  }
  if (outcome === 'continue-as-new' && control.stopping && patched(PATCHES.stopDuringWindDown)) outcome = 'stopped';
  if (outcome === 'continue-as-new') {
    await continueAsNew<typeof drainQueue>({
      options,
      stats: { ...stats, runs: stats.runs + 1 },
      paused: control.paused,
    });
  }
  publish(outcome === 'stopped' ? 'stopped' : 'drained');
  return stats;
}

/** Bad options fail the workflow at once; thrown as a plain error they would retry its first task forever. */
function validOptions(input: DrainInput): DrainOptions {
  try {
    return resolveDrainOptions(input.options);
  } catch (error) {
    throw ApplicationFailure.nonRetryable((error as Error).message, FAILURE_TYPES.invalidDrainOptions);
  }
}
