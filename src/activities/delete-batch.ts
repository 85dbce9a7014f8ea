import { DeleteMessageBatchCommand, type BatchResultErrorEntry } from '@aws-sdk/client-sqs';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { FAILURE_TYPES } from '../core/failure-types';
import { countMessages } from '../metrics';
import { sendInChunks } from '../sqs';
import type { ActivityDeps } from './deps';
import { heartbeating } from './heartbeating';

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

/** Deletes messages named in the activity's input: the activity of drains started before held batches. */
export function createDeleteBatch(deps: ActivityDeps) {
  return async function deleteBatch(entries: DeleteEntry[]): Promise<DeleteBatchResult> {
    const queueUrl = await deps.queueUrl();
    return heartbeating(() => deleteMessages(deps, queueUrl, entries));
  };
}

/** Deletes the messages of a batch this worker holds, once it is loaded, and lets the batch go. */
export function createDeleteHeldBatch(deps: ActivityDeps) {
  return async function deleteHeldBatch(batchId: string): Promise<DeleteBatchResult> {
    const { queueUrl, receipts } = deps.held.get(batchId);
    const entries = receipts.map((receiptHandle) => ({ receiptHandle }));
    const result = await heartbeating(() => deleteMessages(deps, queueUrl, entries));
    deps.held.release(batchId);
    return result;
  };
}

/**
 * Deletes messages whose rows or quarantine records are committed, in parallel calls of 10. Failed entries
 * are tried again; what still fails fails the activity, whose retry deletes again (deleting twice is harmless).
 */
async function deleteMessages(
  deps: ActivityDeps,
  queueUrl: string,
  entries: Pick<DeleteEntry, 'receiptHandle'>[],
): Promise<DeleteBatchResult> {
  let pending = entries;
  let stale = 0;
  for (let round = 1; pending.length > 0; round++) {
    const failures = (await sendInChunks(pending, (chunk) => deleteChunk(deps, queueUrl, chunk))).flat();
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
}

async function deleteChunk<Entry extends Pick<DeleteEntry, 'receiptHandle'>>(
  deps: ActivityDeps,
  queueUrl: string,
  chunk: Entry[],
): Promise<{ entry: Entry; error: BatchResultErrorEntry }[]> {
  const { Failed = [] } = await deps.sqs.send(
    new DeleteMessageBatchCommand({
      QueueUrl: queueUrl,
      Entries: chunk.map((entry, index) => ({ Id: String(index), ReceiptHandle: entry.receiptHandle })),
    }),
  );
  return Failed.map((error) => ({ entry: chunk[Number(error.Id)]!, error }));
}
