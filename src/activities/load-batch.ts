import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { PoolClient } from 'pg';
import { quarantine } from '../core/quarantine-record';
import { rekeyBatch } from '../core/rekey-batch';
import type { LoginRow, QuarantineRecord, TransformedBatch } from '../core/types';
import type { VaultEntry } from '../core/vault';
import { assertSameRoot, RootKeyMismatchError, type KeyState } from '../pii/key-state';
import { createLogger } from '../log';
import { countMessages } from '../metrics';
import type { ActivityDeps } from './deps';

const log = createLogger('activity');

export interface LoadBatchResult {
  loaded: number;
  quarantined: number;
  /** Rows and quarantine records already in the database: redeliveries and retried batches. */
  duplicates: number;
  /** Rows Postgres refused (a data rule at insert time), quarantined in their place. */
  rejected: number;
}

/**
 * Rows, quarantine records and vault entries in one statement, hence one transaction: unnest() turns column
 * arrays into rows, and ON CONFLICT DO NOTHING makes a retried or redelivered batch load nothing twice.
 * Nothing is written unless the batch was masked with the active key version of the database's root key; the
 * share lock on the key state makes a rotation wait for loads under way, and later loads see the new version.
 */
const LOAD_SQL = `
WITH state AS (
  SELECT active_version, root_fingerprint FROM pii_key_state FOR SHARE
), current_version AS (
  SELECT FROM state WHERE active_version = $1 AND root_fingerprint = $2
), loaded AS (
  INSERT INTO user_logins (message_id, user_id, device_type, masked_ip, masked_device_id, ip_valid, locale,
                           app_version, app_version_text, create_date, sent_at)
  SELECT * FROM unnest($3::varchar[], $4::varchar[], $5::varchar[], $6::varchar[], $7::varchar[], $8::boolean[],
                       $9::varchar[], $10::integer[], $11::varchar[], $12::date[], $13::timestamptz[])
  WHERE EXISTS (SELECT FROM current_version)
  ON CONFLICT (message_id) DO NOTHING
  RETURNING 1
), quarantined AS (
  INSERT INTO quarantined_messages (message_id, reason, sent_at, receive_count, body_bytes, body_sealed, body_key_id)
  SELECT * FROM unnest($14::varchar[], $15::text[], $16::timestamptz[], $17::integer[], $18::integer[],
                       $19::bytea[], $20::text[])
  WHERE EXISTS (SELECT FROM current_version)
  ON CONFLICT (message_id) DO NOTHING
  RETURNING 1
), vaulted AS (
  INSERT INTO pii_vault (field, token, key_version, value_sealed)
  SELECT * FROM unnest($21::text[], $22::varchar[], $23::integer[], $24::bytea[]) AS v(field, token, key_version, sealed)
  WHERE EXISTS (SELECT FROM current_version)
    AND NOT EXISTS (SELECT FROM pii_erasures e WHERE e.field = v.field AND e.token = v.token)
  ON CONFLICT (field, token) DO NOTHING
  RETURNING 1
)
SELECT (SELECT active_version FROM state) AS active_version, (SELECT root_fingerprint FROM state) AS root_fingerprint,
       (SELECT count(*) FROM loaded)::int AS loaded, (SELECT count(*) FROM quarantined)::int AS quarantined,
       (SELECT count(*) FROM vaulted)::int AS vaulted`;

interface LoadOutcome {
  active_version: number;
  root_fingerprint: string | null;
  loaded: number;
  quarantined: number;
}

const ROW_COLUMNS = [
  'message_id',
  'user_id',
  'device_type',
  'masked_ip',
  'masked_device_id',
  'ip_valid',
  'locale',
  'app_version',
  'app_version_text',
  'create_date',
  'sent_at',
] as const satisfies readonly (keyof LoginRow)[];

interface Writes {
  rows: LoginRow[];
  records: QuarantineRecord[];
  vault: VaultEntry[];
}

function loadParameters(deps: ActivityDeps, keyVersion: number, { rows, records, vault }: Writes): unknown[] {
  return [
    keyVersion,
    deps.keyring.rootFingerprint,
    ...ROW_COLUMNS.map((column) => rows.map((row) => row[column])),
    records.map((r) => r.message_id),
    records.map((r) => r.reason),
    records.map((r) => r.sent_at),
    records.map((r) => r.receive_count),
    records.map((r) => r.body_bytes),
    records.map((r) => (r.body_sealed === null ? null : Buffer.from(r.body_sealed, 'base64'))),
    records.map((r) => r.body_key_id),
    vault.map((v) => v.field),
    vault.map((v) => v.token),
    vault.map((v) => v.key_version),
    vault.map((v) => Buffer.from(v.value_sealed, 'base64')),
  ];
}

/** SQLSTATE classes of errors caused by a value (data exceptions, integrity violations), not by the system. */
const isDataError = (error: unknown): error is { code: string } =>
  typeof (error as { code?: unknown }).code === 'string' && /^2[23]/.test((error as { code: string }).code);

/** The batch's key version is no longer the active one: nothing was written. */
class StaleKeyVersion {
  constructor(readonly activeVersion: number) {}
}

const MAX_REKEYS = 5;

export function createLoadBatch(deps: ActivityDeps) {
  return async function loadBatch(batch: TransformedBatch): Promise<LoadBatchResult> {
    for (let rekeys = 0; ; rekeys++) {
      const outcome = await loadOnce(deps, batch);
      if (!(outcome instanceof StaleKeyVersion)) {
        log.debug('loaded', { ...outcome, keyVersion: batch.keyVersion });
        const { loaded, duplicates, quarantined } = outcome;
        countMessages(Context.current().metricMeter, { loaded, duplicates, quarantined });
        return outcome;
      }
      log.info('batch masked with an older key version: re-keyed', {
        from: batch.keyVersion,
        to: outcome.activeVersion,
      });
      if (rekeys === MAX_REKEYS) throw new Error('the PII key version kept changing while the batch loaded');
      deps.keyVersion.observe(outcome.activeVersion);
      batch = rekeyBatch(batch, deps.keyring, deps.keyring.keySet(outcome.activeVersion));
    }
  };
}

/** Refuses another root for good (retrying cannot help); tells a stale batch apart. */
function checkState(deps: ActivityDeps, batch: TransformedBatch, outcome: LoadOutcome): StaleKeyVersion | undefined {
  const state: KeyState = { activeVersion: outcome.active_version, rootFingerprint: outcome.root_fingerprint };
  try {
    assertSameRoot(state, deps.keyring);
  } catch (error) {
    if (error instanceof RootKeyMismatchError) throw ApplicationFailure.nonRetryable(error.message, error.name);
    throw error;
  }
  return state.activeVersion === batch.keyVersion ? undefined : new StaleKeyVersion(state.activeVersion);
}

async function loadOnce(deps: ActivityDeps, batch: TransformedBatch): Promise<LoadBatchResult | StaleKeyVersion> {
  const total = batch.rows.length + batch.quarantined.length;
  try {
    const { rows } = await deps.pool.query<LoadOutcome>(
      LOAD_SQL,
      loadParameters(deps, batch.keyVersion, { rows: batch.rows, records: batch.quarantined, vault: batch.vault }),
    );
    const outcome = rows[0]!;
    const stale = checkState(deps, batch, outcome);
    if (stale) return stale;
    return {
      loaded: outcome.loaded,
      quarantined: outcome.quarantined,
      duplicates: total - outcome.loaded - outcome.quarantined,
      rejected: 0,
    };
  } catch (error) {
    if (!isDataError(error)) throw error;
    return loadRowByRow(deps, batch);
  }
}

/**
 * The slow path when Postgres refused the batch: each row is tried in its own savepoint, a refused one is
 * quarantined, and everything is committed together. Only the SQLSTATE is kept, since a message can echo a value.
 */
async function loadRowByRow(deps: ActivityDeps, batch: TransformedBatch): Promise<LoadBatchResult | StaleKeyVersion> {
  const client = await deps.pool.connect();
  try {
    await client.query('BEGIN');
    let loaded = 0;
    let duplicates = 0;
    const records = [...batch.quarantined];
    for (const row of batch.rows) {
      const outcome = await tryRow(deps, client, batch, row);
      if (outcome instanceof StaleKeyVersion) {
        await client.query('ROLLBACK');
        return outcome;
      }
      if (outcome === 'loaded') loaded++;
      else if (outcome === 'duplicate') duplicates++;
      else records.push(refusedRow(deps, batch, row, outcome.code));
    }
    const { rows } = await client.query<LoadOutcome>(
      LOAD_SQL,
      loadParameters(deps, batch.keyVersion, { rows: [], records, vault: batch.vault }),
    );
    const stale = checkState(deps, batch, rows[0]!);
    if (stale) {
      await client.query('ROLLBACK');
      return stale;
    }
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

async function tryRow(
  deps: ActivityDeps,
  client: PoolClient,
  batch: TransformedBatch,
  row: LoginRow,
): Promise<'loaded' | 'duplicate' | { code: string } | StaleKeyVersion> {
  await client.query('SAVEPOINT row_insert');
  try {
    const { rows } = await client.query<LoadOutcome>(
      LOAD_SQL,
      loadParameters(deps, batch.keyVersion, { rows: [row], records: [], vault: [] }),
    );
    await client.query('RELEASE SAVEPOINT row_insert');
    return checkState(deps, batch, rows[0]!) ?? (rows[0]!.loaded === 1 ? 'loaded' : 'duplicate');
  } catch (error) {
    if (!isDataError(error)) throw error;
    await client.query('ROLLBACK TO SAVEPOINT row_insert');
    return { code: error.code };
  }
}

function refusedRow(deps: ActivityDeps, batch: TransformedBatch, row: LoginRow, code: string): QuarantineRecord {
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
    deps.keyring.keySet(batch.keyVersion),
  );
}
