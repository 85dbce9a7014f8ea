import { DeleteMessageBatchCommand, type BatchResultErrorEntry } from '@aws-sdk/client-sqs';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { FAILURE_TYPES } from '../core/failure-types';
import { countMessages } from '../metrics';
import { chunks } from '../sqs';
import type { ActivityDeps } from './deps';

export interface DeleteEntry {
  messageId: string;
  receiptHandle: string;
}

export interface DeleteBatchResult {
  deleted: number;
  /**
   * Entries whose receipt handle SQS no longer accepts: the message outlived its visibility timeout and was
   * received again, and the holder of the newer receipt (whose load finds the row already there) deletes it.
   */
  stale: number;
}

const ROUNDS = 3;

/**
 * Deletes messages whose rows or quarantine records are committed, in parallel calls of 10. Failed entries
 * are tried again; what still fails fails the activity, whose retry deletes again (deleting twice is harmless).
 */
export function createDeleteBatch(deps: ActivityDeps) {
  return async function deleteBatch(entries: DeleteEntry[]): Promise<DeleteBatchResult> {
    const queueUrl = await deps.queueUrl();
    let pending = entries;
    let stale = 0;
    for (let round = 1; pending.length > 0; round++) {
      Context.current().heartbeat();
      const failures = (
        await Promise.all([...chunks(pending)].map((chunk) => deleteChunk(deps, queueUrl, chunk)))
      ).flat();
      stale += failures.filter(({ error }) => error.Code === 'ReceiptHandleIsInvalid').length;
      pending = failures.filter(({ error }) => error.Code !== 'ReceiptHandleIsInvalid').map(({ entry }) => entry);
      if (pending.length > 0 && round === ROUNDS) {
        const codes = [...new Set(failures.map(({ error }) => error.Code))].join(', ');
        throw ApplicationFailure.retryable(
          `${pending.length} messages could not be deleted (${codes})`,
          FAILURE_TYPES.deleteFailed,
        );
      }
      if (pending.length > 0) await new Promise((resolve) => setTimeout(resolve, 200 * round));
    }
    countMessages(Context.current().metricMeter, { deleted: entries.length - stale });
    return { deleted: entries.length - stale, stale };
  };
}

async function deleteChunk(
  deps: ActivityDeps,
  queueUrl: string,
  chunk: DeleteEntry[],
): Promise<{ entry: DeleteEntry; error: BatchResultErrorEntry }[]> {
  const { Failed = [] } = await deps.sqs.send(
    new DeleteMessageBatchCommand({
      QueueUrl: queueUrl,
      Entries: chunk.map((entry, index) => ({ Id: String(index), ReceiptHandle: entry.receiptHandle })),
    }),
  );
  return Failed.map((error) => ({ entry: chunk[Number(error.Id)]!, error }));
}
