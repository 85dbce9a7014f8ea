import type { ActivityDeps } from './deps';
import { createDeleteBatch } from './delete-batch';
import { createLoadBatch } from './load-batch';
import { createMaskBatch } from './mask-batch';
import { createReceiveBatch } from './receive-batch';

export type { ActivityDeps } from './deps';

/**
 * The pipeline's four stages, built from their clients: receive → mask → load (upsert) → delete. They log through
 * the activity context logger (`log` of @temporalio/activity): workflow id, activity id and attempt on every line,
 * redacted like every other line by the runtime logger it forwards to (src/temporal/runtime.ts).
 */
export function createActivities(deps: ActivityDeps) {
  return {
    receiveBatch: createReceiveBatch(deps),
    maskBatch: createMaskBatch(deps),
    loadBatch: createLoadBatch(deps),
    deleteBatch: createDeleteBatch(deps),
  };
}

export type PipelineActivities = ReturnType<typeof createActivities>;
