import type { PoolClient } from 'pg';
import { quarantine } from '../core/transform-batch';
import type { LoginRow, QuarantineRecord, TransformedBatch } from '../core/types';
import type { ActivityDeps } from './deps';

export interface LoadBatchResult {
  loaded: number;
  quarantined: number;
  /** Rows and quarantine records already in the database: redeliveries and retried batches. */
  duplicates: number;
  /** Rows Postgres refused (a data rule at insert time), quarantined in their place. */
  rejected: number;
}

/**
 * Rows and quarantine records in one statement, hence one transaction: unnest() turns column arrays into
 * rows, and ON CONFLICT (message_id) DO NOTHING makes a retried or redelivered batch load nothing twice.
 */
const LOAD_SQL = `
WITH loaded AS (
  INSERT INTO user_logins (message_id, user_id, device_type, masked_ip, masked_device_id, locale,
                           app_version, app_version_text, create_date, sent_at)
  SELECT * FROM unnest($1::varchar[], $2::varchar[], $3::varchar[], $4::varchar[], $5::varchar[], $6::varchar[],
                       $7::integer[], $8::varchar[], $9::date[], $10::timestamptz[])
  ON CONFLICT (message_id) DO NOTHING
  RETURNING 1
), quarantined AS (
  INSERT INTO quarantined_messages (message_id, reason, sent_at, receive_count, body_bytes, body_sealed, body_key_id)
  SELECT * FROM unnest($11::varchar[], $12::text[], $13::timestamptz[], $14::integer[], $15::integer[],
                       $16::bytea[], $17::text[])
  ON CONFLICT (message_id) DO NOTHING
  RETURNING 1
)
SELECT (SELECT count(*) FROM loaded)::int AS loaded, (SELECT count(*) FROM quarantined)::int AS quarantined`;

const ROW_COLUMNS = [
  'message_id',
  'user_id',
  'device_type',
  'masked_ip',
  'masked_device_id',
  'locale',
  'app_version',
  'app_version_text',
  'create_date',
  'sent_at',
] as const satisfies readonly (keyof LoginRow)[];

function loadParameters(rows: LoginRow[], records: QuarantineRecord[]): unknown[] {
  return [
    ...ROW_COLUMNS.map((column) => rows.map((row) => row[column])),
    records.map((r) => r.message_id),
    records.map((r) => r.reason),
    records.map((r) => r.sent_at),
    records.map((r) => r.receive_count),
    records.map((r) => r.body_bytes),
    records.map((r) => (r.body_sealed === null ? null : Buffer.from(r.body_sealed, 'base64'))),
    records.map((r) => r.body_key_id),
  ];
}

/** SQLSTATE classes of errors caused by a value (data exceptions, integrity violations), not by the system. */
const isDataError = (error: unknown): error is { code: string } =>
  typeof (error as { code?: unknown }).code === 'string' && /^2[23]/.test((error as { code: string }).code);

export function createLoadBatch(deps: ActivityDeps) {
  return async function loadBatch(batch: TransformedBatch): Promise<LoadBatchResult> {
    const total = batch.rows.length + batch.quarantined.length;
    try {
      const { rows } = await deps.pool.query<{ loaded: number; quarantined: number }>(
        LOAD_SQL,
        loadParameters(batch.rows, batch.quarantined),
      );
      const { loaded, quarantined } = rows[0]!;
      return { loaded, quarantined, duplicates: total - loaded - quarantined, rejected: 0 };
    } catch (error) {
      if (!isDataError(error)) throw error;
      return loadRowByRow(deps, batch);
    }
  };
}

/**
 * The slow path when Postgres refused the batch: each row is tried in its own savepoint, a refused one is
 * quarantined, and everything is committed together. Only the SQLSTATE is kept, since a message can echo a value.
 */
async function loadRowByRow(deps: ActivityDeps, batch: TransformedBatch): Promise<LoadBatchResult> {
  const client = await deps.pool.connect();
  try {
    await client.query('BEGIN');
    let loaded = 0;
    let duplicates = 0;
    const records = [...batch.quarantined];
    for (const row of batch.rows) {
      const outcome = await tryRow(client, row);
      if (outcome === 'loaded') loaded++;
      else if (outcome === 'duplicate') duplicates++;
      else records.push(refusedRow(deps, row, outcome.code));
    }
    const { rows } = await client.query<{ quarantined: number }>(LOAD_SQL, loadParameters([], records));
    await client.query('COMMIT');
    const quarantined = rows[0]!.quarantined;
    return {
      loaded,
      quarantined,
      duplicates: duplicates + records.length - quarantined,
      rejected: records.length - batch.quarantined.length,
    };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

async function tryRow(client: PoolClient, row: LoginRow): Promise<'loaded' | 'duplicate' | { code: string }> {
  await client.query('SAVEPOINT row_insert');
  try {
    const { rows } = await client.query<{ loaded: number }>(LOAD_SQL, loadParameters([row], []));
    await client.query('RELEASE SAVEPOINT row_insert');
    return rows[0]!.loaded === 1 ? 'loaded' : 'duplicate';
  } catch (error) {
    if (!isDataError(error)) throw error;
    await client.query('ROLLBACK TO SAVEPOINT row_insert');
    return { code: error.code };
  }
}

function refusedRow(deps: ActivityDeps, row: LoginRow, code: string): QuarantineRecord {
  const content = JSON.stringify(row);
  return quarantine(
    {
      messageId: row.message_id,
      sentTimestamp: Date.parse(row.sent_at),
      receiveCount: null,
      bodyBytes: Buffer.byteLength(content, 'utf8'),
    },
    `Postgres refused the row (SQLSTATE ${code})`,
    content,
    { quarantineKey: deps.keys.quarantineBody },
  );
}
