import { transformBatch } from '../core/transform-batch';
import type { ReceivedMessage, TransformedBatch } from '../core/types';
import type { ActivityDeps } from './deps';

export function createMaskBatch(deps: ActivityDeps) {
  return async function maskBatch(messages: ReceivedMessage[]): Promise<TransformedBatch> {
    return Promise.resolve(transformBatch(messages, { masker: deps.masker, quarantineKey: deps.keys.quarantineBody }));
  };
}
