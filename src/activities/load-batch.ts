import { Context, log } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { Pool, PoolClient } from 'pg';
import { quarantine } from '../core/quarantine-record';
import { transformBatch } from '../core/transform-batch';
import { vaultSealer } from '../core/vault';
import type { LoginRow, QuarantineRecord, TransformedBatch } from '../core/types';
import { inTransaction } from '../db/in-transaction';
import { loadParameters, loadStatement, type LoadOutcome, type LoadWrites } from '../db/load-statement';
import { assertSameRoot, RootKeyMismatchError, type KeyState } from '../pii/key-state';
import { FAILURE_TYPES } from '../core/failure-types';
import { countMessages } from '../metrics';
import type { ActivityDeps } from './deps';
import { heartbeating } from './heartbeating';

type Queryable = Pick<Pool | PoolClient, 'query'>;

/**
 * Exact across retries: a message whose row or record an earlier attempt of this load committed counts as loaded
 * or quarantined here too, so `loaded + quarantined` is the batch's messages that are now committed by it.
 */
export interface LoadBatchResult {
  loaded: number;
  quarantined: number;
  /** Messages another batch had already committed: SQS delivered them again. */
  duplicates: number;
  /** Rows Postgres refused (a data rule at insert time), quarantined in their place. */
  rejected: number;
}

/**
 * One attempt's outcome: the batch's result, and what this attempt itself inserted. The metrics count the latter,
 * so that summed over attempts and workers they match the rows in Postgres.
 */
interface Attempt {
  result: LoadBatchResult;
  inserted: { loaded: number; quarantined: number };
}

/** The statement, run with this batch's writes. */
const runLoad = (client: Queryable, deps: ActivityDeps, batch: TransformedBatch, writes: LoadWrites) =>
  client.query<LoadOutcome>(
    loadStatement(loadParameters(batch.keyVersion, deps.keyring.rootFingerprint, batch.batchId, writes)),
  );

/**
 * SQLSTATE classes of errors caused by a value (data exceptions, integrity violations, a value past a program
 * limit such as an index row's size), not by the system.
 */
const isDataError = (error: unknown): error is { code: string } =>
  typeof (error as { code?: unknown }).code === 'string' && /^(2[23]|54)/.test((error as { code: string }).code);

/** The batch's key version is no longer the active one: nothing was written. */
class StaleKeyVersion extends Error {
  constructor(readonly activeVersion: number) {
    super(`the active key version is now ${activeVersion}`);
  }
}

const MAX_REKEYS = 5;

/** The batch masked again with another key version, when its raw messages are still at hand. */
type Remask = (version: number) => TransformedBatch;

/** Loads the masked batch this worker holds; its raw messages are dropped once it is committed. */
export function createLoadHeldBatch(deps: ActivityDeps) {
  return async function loadHeldBatch(batchId: string): Promise<LoadBatchResult> {
    const held = deps.held.get(batchId);
    const masked = deps.held.masked(batchId);
    const messages = held.messages;
    // Only the rows' messages are left (maskHeldBatch let the others go); the quarantine records hold no token to re-key.
    const remask: Remask | undefined = messages
      ? (version) => ({
          ...transformBatch(messages, deps.keyring.keySet(version), deps.sealTo, batchId),
          quarantined: masked.quarantined,
        })
      : undefined;
    const result = await heartbeating(() => load(deps, masked, remask));
    delete held.messages;
    return result;
  };
}

async function load(deps: ActivityDeps, batch: TransformedBatch, remask?: Remask): Promise<LoadBatchResult> {
  for (let rekeys = 0; ; rekeys++) {
    const outcome = await loadOnce(deps, batch);
    if (!(outcome instanceof StaleKeyVersion)) {
      const { result, inserted } = outcome;
      log.debug('loaded', { ...result, keyVersion: batch.keyVersion });
      countMessages(Context.current().metricMeter, { ...inserted, duplicates: result.duplicates });
      return result;
    }
    if (rekeys === MAX_REKEYS) throw new Error('the PII key version kept changing while the batch loaded');
    deps.keyVersion.observe(outcome.activeVersion);
    if (!remask) {
      throw ApplicationFailure.nonRetryable(
        `the batch was masked with key version ${batch.keyVersion} before a rotation and cannot be re-keyed here; ` +
          'its messages are received again when their visibility lapses',
        FAILURE_TYPES.staleBatch,
      );
    }
    log.info('batch masked with an older key version: masked again', {
      from: batch.keyVersion,
      to: outcome.activeVersion,
    });
    batch = remask(outcome.activeVersion);
  }
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

async function loadOnce(deps: ActivityDeps, batch: TransformedBatch): Promise<Attempt | StaleKeyVersion> {
  const total = batch.rows.length + batch.quarantined.length;
  try {
    const { rows } = await runLoad(deps.pool, deps, batch, {
      rows: batch.rows,
      records: batch.quarantined,
      vault: batch.vault,
    });
    const outcome = rows[0]!;
    const stale = checkState(deps, batch, outcome);
    if (stale) return stale;
    const loaded = outcome.loaded + outcome.loaded_before;
    const quarantined = outcome.quarantined + outcome.quarantined_before;
    return {
      result: { loaded, quarantined, duplicates: total - loaded - quarantined, rejected: 0 },
      inserted: { loaded: outcome.loaded, quarantined: outcome.quarantined },
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
async function loadRowByRow(deps: ActivityDeps, batch: TransformedBatch): Promise<Attempt | StaleKeyVersion> {
  try {
    return await inTransaction(deps.pool, async (client) => {
      const counts = { inserted: 0, 'committed before': 0, duplicate: 0 };
      const refused: QuarantineRecord[] = [];
      for (const row of batch.rows) {
        const outcome = await inSavepoint(client, async () => {
          const { rows } = await runLoad(client, deps, batch, { rows: [row], records: [], vault: [] });
          return rowOutcome(deps, batch, rows[0]!);
        });
        if (typeof outcome === 'string') counts[outcome]++;
        else refused.push(refusedRow(deps, row, outcome.code));
      }
      const records = await storableRecords(deps, client, batch, [...batch.quarantined, ...refused]);
      const { rows } = await runLoad(client, deps, batch, { rows: [], records, vault: batch.vault });
      const outcome = rows[0]!;
      const stale = checkState(deps, batch, outcome);
      if (stale) throw stale;
      const quarantined = outcome.quarantined + outcome.quarantined_before;
      return {
        result: {
          loaded: counts.inserted + counts['committed before'],
          quarantined,
          duplicates: counts.duplicate + records.length - quarantined,
          rejected: refused.length,
        },
        inserted: { loaded: counts.inserted, quarantined: outcome.quarantined },
      };
    });
  } catch (error) {
    // Thrown to roll the transaction back; the caller re-keys the batch.
    if (error instanceof StaleKeyVersion) return error;
    throw error;
  }
}

function rowOutcome(
  deps: ActivityDeps,
  batch: TransformedBatch,
  outcome: LoadOutcome,
): 'inserted' | 'committed before' | 'duplicate' {
  const stale = checkState(deps, batch, outcome);
  if (stale) throw stale;
  return outcome.loaded === 1 ? 'inserted' : outcome.loaded_before === 1 ? 'committed before' : 'duplicate';
}

/**
 * Runs `work` in a savepoint: kept when it succeeds, undone when Postgres refuses a value (its SQLSTATE returned),
 * or always undone with `trial`. Any other failure is thrown.
 */
async function inSavepoint<T>(
  client: PoolClient,
  work: () => Promise<T>,
  trial = false,
): Promise<T | { code: string }> {
  await client.query('SAVEPOINT one_message');
  try {
    const result = await work();
    await client.query(trial ? 'ROLLBACK TO SAVEPOINT one_message' : 'RELEASE SAVEPOINT one_message');
    return result;
  } catch (error) {
    if (!isDataError(error)) throw error;
    await client.query('ROLLBACK TO SAVEPOINT one_message');
    return { code: error.code };
  }
}

/**
 * The records, each as Postgres will take it: one it refuses (nothing the pipeline makes should be) is kept
 * without its body, under a reason that says so, so that its message still ends as exactly one record.
 */
async function storableRecords(
  deps: ActivityDeps,
  client: PoolClient,
  batch: TransformedBatch,
  records: QuarantineRecord[],
): Promise<QuarantineRecord[]> {
  const trial = (some: QuarantineRecord[]) =>
    inSavepoint(client, () => runLoad(client, deps, batch, { rows: [], records: some, vault: [] }), true);
  if (!('code' in (await trial(records)))) return records;
  const storable: QuarantineRecord[] = [];
  for (const record of records) {
    const outcome = await trial([record]);
    storable.push(
      'code' in outcome
        ? {
            ...record,
            reason: `its quarantine record was refused (SQLSTATE ${outcome.code})`,
            body_sealed: null,
            body_key_id: null,
          }
        : record,
    );
  }
  return storable;
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
    vaultSealer(deps.sealTo),
  );
}
