import type { Pool, PoolClient } from 'pg';
import { PII_FIELDS, type PiiField } from '../core/canonical-pii';
import { TOKEN_COLUMNS } from '../core/loaded-columns';
import { inTransaction } from '../db/in-transaction';
import { dropPartition, loginsOutsideMonths, partitionsBefore } from '../db/partitioning';
import { appendAudit } from './audit';

export interface RetentionOptions {
  keepDays: number;
  /** Count what would go, remove nothing. */
  dryRun: boolean;
  actor: string;
  /** Rows deleted per statement, each its own transaction, so no lock is held long. */
  chunkSize?: number;
  /** Today, for tests. */
  now?: Date;
}

export interface RetentionReport {
  keepDays: number;
  /** Logins with a `create_date` before this day (a first of a month), and records quarantined before it, go. */
  cutoff: string;
  dryRun: boolean;
  logins: number;
  quarantineRecords: number;
  /** The monthly partitions of user_logins dropped whole (or that would be); other rows are deleted in chunks. */
  partitionsDropped: string[];
  /** Vault values (ip, device id) that no remaining login uses: shredded, their rows deleted. */
  vaultValues: number;
  auditId: number | null;
}

/**
 * The first day of the month of `now - keepDays`: every month before it is wholly older than `keepDays` days, and
 * the month it starts is not.
 */
export function retentionCutoff(now: Date, keepDays: number): string {
  const edge = new Date(now.getTime() - keepDays * 86_400_000);
  return `${edge.toISOString().slice(0, 7)}-01`;
}

/**
 * Removes the logins of months wholly older than `keepDays` days and the quarantine records as old: a month of
 * logins is dropped whole, its partition (no row by row delete, nothing left to vacuum); logins outside those
 * partitions (the default partition, a table not converted yet) and quarantine records are deleted in chunks. Then it crypto-shreds the vault values no
 * remaining login uses: their rows are deleted, so the sealed value is gone, and a value that comes back later is
 * vaulted anew (a `forget` tombstone stays: it records an erasure). The vault step takes the key state's lock, as a
 * rotation does, so no load is between finding a value unused and its deletion (a load holds the lock shared while
 * it inserts rows and their vault entries). The run's counts go to the audit trail.
 */
export async function applyRetention(pool: Pool, options: RetentionOptions): Promise<RetentionReport> {
  const cutoff = retentionCutoff(options.now ?? new Date(), options.keepDays);
  const chunkSize = options.chunkSize ?? 10_000;
  const removed = { logins: 0, records: 0 };
  const client = await pool.connect();
  let partitions: Awaited<ReturnType<typeof partitionsBefore>>;
  try {
    partitions = await partitionsBefore(client, cutoff);
    if (options.dryRun) {
      const { rows } = await client.query<{ logins: number; records: number }>(
        `SELECT (SELECT count(*) FROM user_logins WHERE create_date < $1::date)::int AS logins,
                (SELECT count(*) FROM quarantined_messages WHERE ${RECORDS_BEFORE_CUTOFF})::int AS records`,
        [cutoff],
      );
      Object.assign(removed, rows[0]);
    } else {
      for (const partition of partitions) {
        await dropPartition(client, partition.name);
        removed.logins += partition.rows;
      }
      const outside = await loginsOutsideMonths(client);
      removed.logins += await deleteInChunks(client, outside, 'create_date < $1::date', cutoff, chunkSize);
      removed.records += await deleteInChunks(client, 'quarantined_messages', RECORDS_BEFORE_CUTOFF, cutoff, chunkSize);
    }
  } finally {
    client.release();
  }
  const partitionsDropped = partitions.map((partition) => partition.name);
  const report: RetentionReport = {
    keepDays: options.keepDays,
    cutoff,
    dryRun: options.dryRun,
    logins: removed.logins,
    quarantineRecords: removed.records,
    partitionsDropped,
    vaultValues: 0,
    auditId: null,
  };
  if (options.dryRun) {
    for (const field of PII_FIELDS) {
      const { rows: unused } = await pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pii_vault v WHERE ${holdsValue(field)}
            AND NOT EXISTS (SELECT FROM user_logins u WHERE u.${TOKEN_COLUMNS[field]} = v.token
                              AND u.create_date >= $1::date)`,
        [cutoff],
      );
      report.vaultValues += unused[0]!.n;
    }
    return report;
  }
  report.vaultValues = await inTransaction(pool, async (client) => {
    await client.query('SELECT FROM pii_key_state FOR UPDATE');
    let shredded = 0;
    for (const field of PII_FIELDS) {
      const { rowCount } = await client.query(
        `DELETE FROM pii_vault v WHERE ${holdsValue(field)}
            AND NOT EXISTS (SELECT FROM user_logins u WHERE u.${TOKEN_COLUMNS[field]} = v.token)`,
      );
      shredded += rowCount ?? 0;
    }
    return shredded;
  });
  report.auditId = await inTransaction(pool, (client: PoolClient) =>
    appendAudit(client, {
      actor: options.actor,
      action: 'retention',
      reason: `keep ${options.keepDays} days`,
      outcome:
        `removed ${report.logins} logins and ${report.quarantineRecords} quarantine records before ${cutoff} ` +
        `(${partitionsDropped.length} monthly partitions dropped), shredded ${report.vaultValues} vault values no ` +
        'login uses',
    }),
  );
  return report;
}

/** A vault entry of `field` that holds a value (a tombstone records an erasure and stays). */
const holdsValue = (field: PiiField) => `v.field = '${field}' AND v.value_sealed IS NOT NULL`;

/** Records quarantined before the cutoff day, which is counted in UTC like `create_date`. */
const RECORDS_BEFORE_CUTOFF = `quarantined_at < ($1::date::timestamp AT TIME ZONE 'UTC')`;

/** Deletes a relation's rows that meet the condition, a chunk per statement (ctid is unique within one relation). */
async function deleteInChunks(
  client: PoolClient,
  relation: string,
  condition: string,
  cutoff: string,
  chunkSize: number,
) {
  let deleted = 0;
  for (;;) {
    const { rowCount } = await client.query(
      `DELETE FROM ${relation} WHERE ctid = ANY(ARRAY(SELECT ctid FROM ${relation} WHERE ${condition} LIMIT $2))`,
      [cutoff, chunkSize],
    );
    deleted += rowCount ?? 0;
    if (!rowCount) return deleted;
  }
}
