import { log } from '@temporalio/activity';
import { randomUUID } from 'node:crypto';
import { transformBatch } from '../core/transform-batch';
import type { ReceivedMessage, TransformedBatch } from '../core/types';
import type { ActivityDeps } from './deps';

export function createMaskBatch(deps: ActivityDeps) {
  return async function maskBatch(messages: ReceivedMessage[]): Promise<TransformedBatch> {
    const keys = deps.keyring.keySet(await deps.keyVersion.current());
    const batch = transformBatch(messages, keys, randomUUID());
    log.debug('masked', {
      valid: batch.rows.length,
      invalid: batch.quarantined.length,
      tokens: batch.vault.length,
      keyVersion: keys.version,
    });
    return batch;
  };
}
