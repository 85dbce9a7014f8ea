import { log } from '@temporalio/activity';
import { committedByBatch, type CommittedByBatch } from '../db/committed-by-batch';
import type { ActivityDeps } from './deps';

/**
 * What a batch lost with its worker had committed, for the drain's totals: its messages come back when their lease
 * runs out, and the batch that receives them again counts them as duplicates.
 */
export function createSettleLostBatch(deps: ActivityDeps) {
  return async function settleLostBatch(batchId: string): Promise<CommittedByBatch> {
    const committed = await committedByBatch(deps.pool, batchId);
    log.info('lost batch settled', { batch: batchId, ...committed });
    return committed;
  };
}
