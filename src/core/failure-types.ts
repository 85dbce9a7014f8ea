/**
 * The type names of the pipeline's failures, in one table: errors take their `name` from it, and the workflow's
 * retry policies and the drain's own failures use the same strings. Pure, so the workflow bundle can import it.
 */
export const FAILURE_TYPES = {
  /** The queue does not exist: a setting to fix, not an outage to wait out. */
  queueMissing: 'QueueMissingError',
  /** The worker's root key is not the one the database was set up with. */
  rootKeyMismatch: 'RootKeyMismatchError',
  /** Some deletes kept failing after their rounds; the activity's retry deletes again. */
  deleteFailed: 'DeleteFailed',
  /** Drain options out of range: fails the drain at once. */
  invalidDrainOptions: 'InvalidDrainOptions',
  /** The worker asked to run a batch's step does not hold it (it restarted, or gave the batch up): the batch is lost. */
  batchNotHeld: 'BatchNotHeld',
  /** A batch masked before a rotation whose raw messages are gone (let go after its load): it cannot be re-keyed. */
  staleBatch: 'StaleBatch',
  /** The worker holds batches up to its memory cap: the receive is retried, perhaps by another worker. */
  memoryCap: 'WorkerAtMemoryCap',
  /** A batch failed after its retries: the drain ends with it, once the other batches in flight are done. */
  batchFailed: 'BatchFailed',
} as const;

/** Failures that no retry can mend: activities fail at once with them. */
export const NON_RETRYABLE_FAILURE_TYPES: string[] = [FAILURE_TYPES.queueMissing, FAILURE_TYPES.rootKeyMismatch];
