import { log } from '@temporalio/activity';
import { transformBatch } from '../core/transform-batch';
import type { ReceivedMessage, TransformedBatch } from '../core/types';
import type { ActivityDeps } from './deps';

/** What the workflow learns of a masked batch: counts only. */
export interface MaskSummary {
  valid: number;
  invalid: number;
  tokens: number;
  keyVersion: number;
}

async function mask(deps: ActivityDeps, messages: ReceivedMessage[], batchId: string): Promise<TransformedBatch> {
  const keys = deps.keyring.keySet(await deps.keyVersion.current());
  const batch = transformBatch(messages, keys, deps.sealTo, batchId);
  log.debug('masked', summarize(batch));
  return batch;
}

const summarize = (batch: TransformedBatch): MaskSummary => ({
  valid: batch.rows.length,
  invalid: batch.quarantined.length,
  tokens: batch.vault.length,
  keyVersion: batch.keyVersion,
});

/**
 * Masks a batch this worker holds, in place. The raw messages of its rows stay until it is loaded (a rotation in
 * between masks them again); the others are sealed in their quarantine records, and their raw bodies let go.
 */
export function createMaskHeldBatch(deps: ActivityDeps) {
  return async function maskHeldBatch(batchId: string): Promise<MaskSummary> {
    const held = deps.held.get(batchId);
    // A retry after the masked batch was kept (its result lost on the way to the server) keeps that one.
    if (!held.transformed) {
      held.transformed = await mask(deps, held.messages!, held.id);
      const rows = new Set(held.transformed.rows.map((row) => row.message_id));
      held.messages = held.messages!.filter((message) => rows.has(message.messageId));
    }
    return summarize(held.transformed);
  };
}
