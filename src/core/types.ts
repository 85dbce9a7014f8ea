import type { LoginRow, QuarantineRecord } from './loaded-columns';
import type { SentAtSource } from './message-origin';
import type { VaultEntry } from './vault';

export type { LoginRow, QuarantineRecord } from './loaded-columns';

/** An SQS message as the pipeline carries it between stages. */
export interface ReceivedMessage {
  messageId: string;
  receiptHandle: string;
  /** The body, or null when it was too large to carry and `rejectedReason` says why. */
  body: string | null;
  rejectedReason?: string;
  /** UTF-8 size of the original body. */
  bodyBytes: number;
  /** SQS SentTimestamp, epoch milliseconds. */
  sentTimestamp: number;
  /** Where sentTimestamp came from when not this delivery's SentTimestamp (core/message-origin.ts). */
  sentAtSource?: SentAtSource;
  receiveCount: number;
}

/** What deleting a message takes. */
export type DeleteEntry = Pick<ReceivedMessage, 'messageId' | 'receiptHandle'>;

export interface TransformedBatch {
  /**
   * Made when the batch is masked and kept with each row and record it commits: a retried load recognizes the
   * rows it committed before (loaded), a redelivered message finds another batch's (a duplicate).
   */
  batchId: string;
  /** The PII key version the tokens and sealed values were made with. */
  keyVersion: number;
  rows: LoginRow[];
  quarantined: QuarantineRecord[];
  /** One entry per distinct token of the rows, for operators to recover the value. */
  vault: VaultEntry[];
}
