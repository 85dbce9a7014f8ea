import { DeleteMessageBatchCommand, type BatchResultErrorEntry } from '@aws-sdk/client-sqs';
import { ApplicationFailure, Context, log } from '@temporalio/activity';
import { FAILURE_TYPES } from '../core/failure-types';
import type { DeleteEntry } from '../core/types';
import { committedMessages } from '../db/committed-messages';
import { countMessages } from '../metrics';
import { sendInChunks } from '../sqs';
import { sharedSignal } from '../sqs/gate';
import type { ActivityDeps } from './deps';
import type { HeldBatch } from './held-batches';
import { heartbeating } from './heartbeating';

export interface DeleteBatchResult {
  deleted: number;
  /**
   * Messages whose receipt SQS no longer honours: refused (`ReceiptHandleIsInvalid`, or an expired handle), or
   * accepted after the lease ran out, which SQS may answer with success without deleting. The message was, or
   * will be, received again, and the holder of the newer receipt (whose load finds the row there) deletes it.
   */
  stale: number;
  /**
   * Messages with no committed row or quarantine record (a load result completed by hand or forged): not deleted,
   * so SQS delivers them again and a real load takes them.
   */
  uncommitted: number;
}

const ROUNDS = 3;

/** Deletes the messages of a batch this worker holds, once it is loaded, and lets the batch go. */
export function createDeleteHeldBatch(deps: ActivityDeps) {
  return async function deleteHeldBatch(batchId: string): Promise<DeleteBatchResult> {
    const batch = deps.held.get(batchId);
    const result = await heartbeating(() => deleteCommitted(deps, batch.queueUrl, batch.entries, batch));
    deps.held.release(batchId);
    return result;
  };
}

/**
 * Deletes the messages whose rows or quarantine records are committed, checked in Postgres (the workflow's word
 * that the load ran is not enough), in parallel calls of 10; the others are left to be delivered again.
 */
async function deleteCommitted(
  deps: ActivityDeps,
  queueUrl: string,
  entries: readonly DeleteEntry[],
  lease?: Pick<HeldBatch, 'leaseEndsAt' | 'lostLeases' | 'deleted'>,
): Promise<DeleteBatchResult> {
  const committed = await committedMessages(
    deps.pool,
    entries.map((entry) => entry.messageId),
  );
  const deletable = entries.filter((entry) => committed.has(entry.messageId));
  const uncommitted = entries.length - deletable.length;
  if (uncommitted > 0) log.warn('messages without a committed row or record left in the queue', { uncommitted });
  const leaseRanOut = lease !== undefined && Date.now() > lease.leaseEndsAt;
  const refused = await deleteMessages(deps, queueUrl, deletable, lease?.deleted);
  // After the lease, a "success" may be SQS's silent answer to an expired handle on a standard queue.
  const silent = leaseRanOut
    ? deletable.length - refused
    : deletable.filter((entry) => lease?.lostLeases.has(entry.receiptHandle)).length;
  const stale = refused + silent;
  countMessages(Context.current().metricMeter, { deleted: deletable.length - stale, staleDeletes: stale, uncommitted });
  return { deleted: deletable.length - stale, stale, uncommitted };
}

/** SQS's answers to a receipt handle that no longer holds the message, on standard and FIFO queues. */
const isStaleHandle = (error: BatchResultErrorEntry) =>
  error.Code === 'ReceiptHandleIsInvalid' ||
  (error.Code === 'InvalidParameterValue' && /receipt handle has expired/i.test(error.Message ?? ''));

/**
 * Deletes the entries, trying failed ones again; what still fails fails the activity, whose retry deletes again
 * (deleting twice is harmless). Each receipt handle deleted goes into `deleted` as soon as SQS accepted it. Returns
 * how many SQS refused as stale.
 */
async function deleteMessages(
  deps: ActivityDeps,
  queueUrl: string,
  entries: DeleteEntry[],
  deleted = new Set<string>(),
): Promise<number> {
  let pending = entries;
  let stale = 0;
  for (let round = 1; pending.length > 0; round++) {
    const failures = (
      await sendInChunks(pending, async (chunk) => {
        const failed = await deleteChunk(deps, queueUrl, chunk);
        const refused = new Set(failed.map(({ entry }) => entry.receiptHandle));
        for (const { receiptHandle } of chunk) if (!refused.has(receiptHandle)) deleted.add(receiptHandle);
        return failed;
      })
    ).flat();
    stale += failures.filter(({ error }) => isStaleHandle(error)).length;
    pending = failures.filter(({ error }) => !isStaleHandle(error)).map(({ entry }) => entry);
    if (pending.length > 0 && round === ROUNDS) {
      const codes = [...new Set(failures.map(({ error }) => error.Code))].join(', ');
      throw ApplicationFailure.retryable(
        `${pending.length} messages could not be deleted (${codes})`,
        FAILURE_TYPES.deleteFailed,
      );
    }
    if (pending.length > 0) await new Promise((resolve) => setTimeout(resolve, 200 * round));
  }
  return stale;
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
    // A cancelled attempt (timed out, its worker stopping) stops waiting on SQS.
    { abortSignal: sharedSignal(Context.current().cancellationSignal) },
  );
  return Failed.map((error) => ({ entry: chunk[Number(error.Id)]!, error }));
}
