import type { VaultEntry } from './vault';

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
  receiveCount: number;
}

/** One row of user_logins: the reference columns plus the idempotency key and provenance. */
export interface LoginRow {
  message_id: string;
  user_id: string;
  device_type: string;
  masked_ip: string;
  masked_device_id: string;
  /** False when ip is not an IP address (it is tokenized as a string all the same). */
  ip_valid: boolean;
  locale: string | null;
  app_version: number;
  app_version_text: string;
  create_date: string;
  sent_at: string;
}

/** A message that could not become a row. The body is kept only sealed (AES-256-GCM), never in clear. */
export interface QuarantineRecord {
  message_id: string;
  reason: string;
  sent_at: string;
  /** SQS ApproximateReceiveCount when known. */
  receive_count: number | null;
  body_bytes: number;
  body_sealed: string | null;
  body_key_id: string | null;
}

export interface TransformedBatch {
  /** The PII key version the tokens and sealed values were made with. */
  keyVersion: number;
  rows: LoginRow[];
  quarantined: QuarantineRecord[];
  /** One entry per distinct token of the rows, for operators to recover the value. */
  vault: VaultEntry[];
}
