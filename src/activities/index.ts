import type { ActivityDeps } from './deps';
import { createDeleteHeldBatch } from './delete-batch';
import { createLoadHeldBatch } from './load-batch';
import { createMaskHeldBatch } from './mask-batch';
import { createReceiveHeldBatch } from './receive-batch';
import { createSettleLostBatch } from './settle-lost-batch';

export type { ActivityDeps } from './deps';

/**
 * The activities any worker of the task queue runs: a receive that holds the batch in this worker's memory, and the
 * settling of a batch lost with its worker. They log through the activity context logger (`log` of @temporalio/activity): workflow id, activity id and
 * attempt on every line, redacted like every other line by the runtime logger it forwards to.
 */
export function createSharedActivities(deps: ActivityDeps) {
  return {
    receiveHeldBatch: createReceiveHeldBatch(deps),
    settleLostBatch: createSettleLostBatch(deps),
  };
}

/** The steps of a batch this worker holds, on its own task queue (`deps.held.taskQueue`): mask → load → delete. */
export function createHeldActivities(deps: ActivityDeps) {
  return {
    maskHeldBatch: createMaskHeldBatch(deps),
    loadHeldBatch: createLoadHeldBatch(deps),
    deleteHeldBatch: createDeleteHeldBatch(deps),
  };
}

export type SharedActivities = ReturnType<typeof createSharedActivities>;
export type HeldActivities = ReturnType<typeof createHeldActivities>;
