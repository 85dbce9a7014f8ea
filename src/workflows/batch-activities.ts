import { TimeoutType } from '@temporalio/common';
import {
  ActivityFailure,
  ApplicationFailure,
  proxyActivities,
  TimeoutFailure,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { HeldActivities, SharedActivities } from '../activities';
import { FAILURE_TYPES, NON_RETRYABLE_FAILURE_TYPES } from '../core/failure-types';
import type { DrainOptions } from './drain-options';

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
export const HOLD_SECONDS = 45 * 60;

/** Activity ids that name the batch and step (`batch-7.load`), so the Web UI lists each batch as its four steps. */
const activityId = (batch: number, step: string) => `batch-${batch}.${step}`;

/** The receive and the settling of a lost batch, on the drain's own task queue, where any worker may take them. */
export function sharedActivities(batch: number, options: Pick<DrainOptions, 'eagerActivities'>) {
  // Without eager dispatch, each activity goes through the task queue, so batches spread over all workers.
  const id = (step: string) => ({ activityId: activityId(batch, step), allowEagerDispatch: options.eagerActivities });
  return {
    receiveHeldBatch: proxyActivities<SharedActivities>({ ...IO_ACTIVITY, ...id('receive') }).receiveHeldBatch,
    settleLostBatch: proxyActivities<SharedActivities>({ ...IO_ACTIVITY, ...id('settle') }).settleLostBatch,
  };
}

/** The steps of a batch held by the worker at `taskQueue`. */
export function heldBatchSteps(batch: number, taskQueue: string) {
  const on = (step: string, base: ActivityOptions) =>
    proxyActivities<HeldActivities>({ ...base, ...HELD_STEP, taskQueue, activityId: activityId(batch, step) });
  return {
    maskHeldBatch: on('mask', CPU_ACTIVITY).maskHeldBatch,
    loadHeldBatch: on('load', IO_ACTIVITY).loadHeldBatch,
    deleteHeldBatch: on('delete', IO_ACTIVITY).deleteHeldBatch,
  };
}

/** The worker holding the batch is gone (its step was never started) or no longer holds it. */
export const isBatchLost = (error: unknown): boolean =>
  error instanceof ActivityFailure &&
  ((error.cause instanceof TimeoutFailure && error.cause.timeoutType === TimeoutType.SCHEDULE_TO_START) ||
    (error.cause instanceof ApplicationFailure && error.cause.type === FAILURE_TYPES.batchNotHeld));
