import {
  LOGIN_ROW_COLUMNS,
  QUARANTINE_COLUMNS,
  VAULT_COLUMNS,
  type ColumnSpec,
  type RowOf,
} from '../core/loaded-columns';
import { MAX_ORIGINAL_AGE_DAYS } from '../core/message-origin';
import { LOGINS_BY_MONTH as LOGINS } from './partitioning';

/**
 * The load: rows, quarantine records and vault entries in one statement, hence one transaction. unnest() turns
 * column arrays into rows, and ON CONFLICT DO NOTHING makes a retried or redelivered batch load nothing twice;
 * rows already there with this batch's id were committed by an earlier attempt of the same load. A vault row
 * erased by `forget` stays a tombstone: the same conflict keeps the load from vaulting the value again. Nothing is
 * written unless the batch was masked with the active key version of the database's root key; the share lock on
 * the key state makes a rotation wait for loads under way, and later loads see the new version. Column lists,
 * casts and parameter numbers all come from the declarations in core/loaded-columns.ts.
 */
type Columns = Record<string, ColumnSpec>;

/** $1 key version, $2 root fingerprint, $3 batch id; the column arrays follow, table by table. */
const FIXED_PARAMETERS = 3;

const names = (columns: Columns) => Object.keys(columns).join(', ');
const unnest = (columns: Columns, first: number) =>
  Object.values(columns)
    .map(({ type }, index) => `$${first + index}::${type}[]`)
    .join(', ');

const ROWS_AT = FIXED_PARAMETERS + 1;
const SPAN = `interval '${MAX_ORIGINAL_AGE_DAYS + 1} days'`;
const RECORDS_AT = ROWS_AT + Object.keys(LOGIN_ROW_COLUMNS).length;
const VAULT_AT = RECORDS_AT + Object.keys(QUARANTINE_COLUMNS).length;
/**
 * Logins keyed by message_id, tagged with the batch id; a row already there is left as it is. The unique key is
 * (message_id, create_date) on the partitioned table and message_id on one not converted yet, so the conflict names
 * no target. A send time that is not this delivery's SentTimestamp (made up from the time of receipt, or the
 * original's carried by a redrive) may put a message on another day than an earlier delivery, past the key: for
 * those rows alone the NOT EXISTS looks the message id up within the span deliveries can have (a few months'
 * partitions). OFFSET 0 keeps it a lookup per row through the key's index: as an anti-join the planner would read
 * the whole table.
 */
const insertLogins = (first: number) => `
  INSERT INTO ${LOGINS.name} (batch_id, ${names(LOGIN_ROW_COLUMNS)})
  SELECT $3::uuid, * FROM unnest(${unnest(LOGIN_ROW_COLUMNS, first)}) AS given(${names(LOGIN_ROW_COLUMNS)})
  WHERE EXISTS (SELECT FROM current_version)
    AND (given.sent_at_source = 'sqs' OR NOT EXISTS (
      SELECT FROM ${LOGINS.name} AS held WHERE held.message_id = given.message_id
        AND held.${LOGINS.column} > given.${LOGINS.column} - ${SPAN}
        AND held.${LOGINS.column} < given.${LOGINS.column} + ${SPAN}
      OFFSET 0))
  ON CONFLICT DO NOTHING
  RETURNING 1`;

/** Quarantine records, keyed by message_id alone (the table is not partitioned). */
const insertRecords = (first: number) => `
  INSERT INTO quarantined_messages (batch_id, ${names(QUARANTINE_COLUMNS)})
  SELECT $3::uuid, * FROM unnest(${unnest(QUARANTINE_COLUMNS, first)})
  WHERE EXISTS (SELECT FROM current_version)
  ON CONFLICT (message_id) DO NOTHING
  RETURNING 1`;

/**
 * This batch's rows that an earlier attempt committed (the statement's snapshot predates its own inserts); logins
 * are looked for only in the partitions of the batch's days.
 */
const committedBefore = (table: string, columns: Columns, first: number, monthColumn?: string) => {
  const parameter = (column: string) => `$${first + Object.keys(columns).indexOf(column)}`;
  return `(
  SELECT count(*) FROM ${table}
  WHERE batch_id = $3::uuid AND message_id = ANY(${parameter('message_id')})
    ${monthColumn === undefined ? '' : `AND ${monthColumn} = ANY(${parameter(monthColumn)})`})::int`;
};

export const LOAD_SQL = `
WITH state AS (
  SELECT active_version, root_fingerprint FROM pii_key_state_for_load()
), current_version AS (
  SELECT FROM state WHERE active_version = $1 AND root_fingerprint = $2
), loaded AS (${insertLogins(ROWS_AT)}
), quarantined AS (${insertRecords(RECORDS_AT)}
), vaulted AS (
  INSERT INTO pii_vault (${names(VAULT_COLUMNS)})
  SELECT * FROM unnest(${unnest(VAULT_COLUMNS, VAULT_AT)}) AS v(${names(VAULT_COLUMNS)})
  WHERE EXISTS (SELECT FROM current_version)
  ON CONFLICT (field, token) DO NOTHING
  RETURNING 1
)
SELECT (SELECT active_version FROM state) AS active_version, (SELECT root_fingerprint FROM state) AS root_fingerprint,
       (SELECT count(*) FROM loaded)::int AS loaded, (SELECT count(*) FROM quarantined)::int AS quarantined,
       ${committedBefore(LOGINS.name, LOGIN_ROW_COLUMNS, ROWS_AT, LOGINS.column)} AS loaded_before,
       ${committedBefore('quarantined_messages', QUARANTINE_COLUMNS, RECORDS_AT)} AS quarantined_before`;

/**
 * The load as a named statement: each connection parses and plans it once and then reuses the plan (partitions are
 * chosen as it runs), where planning it anew each time would cost about as much as running it on a partitioned table.
 */
export const loadStatement = (values: unknown[]) => ({ name: 'login-etl-load', text: LOAD_SQL, values });

/** What the statement reports; the `_before` counts are this batch's commits of earlier attempts. */
export interface LoadOutcome {
  active_version: number;
  root_fingerprint: string | null;
  loaded: number;
  quarantined: number;
  loaded_before: number;
  quarantined_before: number;
}

export interface LoadWrites {
  rows: RowOf<typeof LOGIN_ROW_COLUMNS>[];
  records: RowOf<typeof QUARANTINE_COLUMNS>[];
  vault: RowOf<typeof VAULT_COLUMNS>[];
}

/** One array per column, in declaration order; bytea travels as base64 and is sent as bytes. */
function columnArrays<C extends Columns>(columns: C, items: RowOf<C>[]): unknown[][] {
  return Object.entries(columns).map(([name, { type }]) =>
    items.map((item) => {
      const value = item[name];
      return type === 'bytea' && typeof value === 'string' ? Buffer.from(value, 'base64') : value;
    }),
  );
}

export function loadParameters(
  keyVersion: number,
  rootFingerprint: string,
  batchId: string,
  { rows, records, vault }: LoadWrites,
): unknown[] {
  return [
    keyVersion,
    rootFingerprint,
    batchId,
    ...columnArrays(LOGIN_ROW_COLUMNS, rows),
    ...columnArrays(QUARANTINE_COLUMNS, records),
    ...columnArrays(VAULT_COLUMNS, vault),
  ];
}
