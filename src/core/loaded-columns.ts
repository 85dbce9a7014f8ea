import type { PiiField } from './canonical-pii';

/**
 * The columns the load writes, declared once per table: the row types below, the load statement's column lists,
 * casts and parameter numbers (src/db/load-statement.ts) all derive from these. Adding a column is a migration
 * plus one line here; row building then fails to compile until it fills the new field.
 */
type PgType = 'varchar' | 'text' | 'boolean' | 'integer' | 'date' | 'timestamptz' | 'bytea';

export interface ColumnSpec {
  type: PgType;
  nullable?: true;
}

/** How a column's value travels through the pipeline (JSON payloads): bytea as base64, dates as ISO strings. */
type ValueOf<T extends PgType> = T extends 'boolean' ? boolean : T extends 'integer' ? number : string;
export type RowOf<Columns extends Record<string, ColumnSpec>> = {
  [Name in keyof Columns]: ValueOf<Columns[Name]['type']> | (Columns[Name]['nullable'] extends true ? null : never);
};

export const LOGIN_ROW_COLUMNS = {
  message_id: { type: 'varchar' },
  user_id: { type: 'varchar' },
  device_type: { type: 'varchar' },
  masked_ip: { type: 'varchar' },
  masked_device_id: { type: 'varchar' },
  /** False when ip is not an IP address (it is tokenized as a string all the same). */
  ip_valid: { type: 'boolean' },
  locale: { type: 'varchar', nullable: true },
  app_version: { type: 'integer' },
  app_version_text: { type: 'varchar' },
  create_date: { type: 'date' },
  sent_at: { type: 'timestamptz' },
  /** Where sent_at came from: `sqs`, `receipt` or `redrive` (core/message-origin.ts, SentAtSource). */
  sent_at_source: { type: 'varchar' },
} as const satisfies Record<string, ColumnSpec>;

/** The login column that holds each PII field's token. */
export const TOKEN_COLUMNS = {
  ip: 'masked_ip',
  device_id: 'masked_device_id',
} as const satisfies Record<PiiField, keyof typeof LOGIN_ROW_COLUMNS>;

export const QUARANTINE_COLUMNS = {
  message_id: { type: 'varchar' },
  reason: { type: 'text' },
  sent_at: { type: 'timestamptz', nullable: true },
  /** SQS ApproximateReceiveCount when known. */
  receive_count: { type: 'integer', nullable: true },
  /** UTF-8 size of the original body. */
  body_bytes: { type: 'integer' },
  /** The body sealed to the operator key (core/operator-seal.ts): it may hold a raw ip. */
  body_sealed: { type: 'bytea', nullable: true },
  body_key_id: { type: 'text', nullable: true },
} as const satisfies Record<string, ColumnSpec>;

export const VAULT_COLUMNS = {
  field: { type: 'text' },
  token: { type: 'varchar' },
  key_version: { type: 'integer' },
  /** The canonical value sealed to the operator key (core/operator-seal.ts). */
  value_sealed: { type: 'bytea' },
  /** The operator key it is sealed to (`operator/<fingerprint>`). */
  seal_key_id: { type: 'text' },
} as const satisfies Record<string, ColumnSpec>;

/** One row of user_logins: the reference columns plus the idempotency key and provenance. */
export type LoginRow = RowOf<typeof LOGIN_ROW_COLUMNS>;

/** A message that could not become a row. The body is kept only sealed, never in clear. */
export type QuarantineRecord = RowOf<typeof QUARANTINE_COLUMNS>;
