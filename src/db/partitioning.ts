import type { PoolClient } from 'pg';
import { withinTransaction } from './in-transaction';

/**
 * `user_logins`, partitioned by month of `create_date` (declarative range partitioning), so that retention drops a
 * month instead of deleting its rows. A partition key must be part of every unique index, so the table's key is
 * (message_id, create_date): `create_date` comes from the message's SentTimestamp, the same on every delivery.
 * `quarantined_messages` stays one table with its unique message_id: it holds only the messages that could not
 * become rows, and the one column it could be partitioned by and keyed with, the same on every delivery, is not
 * when it was quarantined (two workers that both got a message quarantine it at different times).
 */
export interface MonthlyTable {
  name: string;
  /** A `date` column. */
  column: string;
  /** What rows are looked up by besides the key: analysts' queries, retention, a lost batch's count. */
  indexed: string[];
}

export const LOGINS_BY_MONTH: MonthlyTable = {
  name: 'user_logins',
  column: 'create_date',
  indexed: ['user_id', 'create_date', 'masked_ip', 'masked_device_id', 'batch_id'],
};

/** Partitions exist from this month to this many months ahead; a row of a month without one goes to the default. */
const MONTHS_AHEAD = 3;
/** Pages of the existing table copied per transaction (8 KiB each: some 10,000 logins). */
const COPY_BATCH_PAGES = 256;
/** How long a step waits for a lock before it gives way to the loads and tries again. */
const LOCK_TIMEOUT = '5s';
const LOCK_ATTEMPTS = 12;
/** Months with rows get a partition each; a table whose dates span more leaves the rest in the default. */
const MAX_MONTHS_WITH_DATA = 1200;

/** `YYYY-MM-01` of the month `offset` months after `month`. */
function addMonths(month: string, offset: number): string {
  const [year, monthOfYear] = month.split('-').map(Number) as [number, number];
  return new Date(Date.UTC(year, monthOfYear - 1 + offset, 1)).toISOString().slice(0, 10);
}

const monthOf = (time: Date): string => `${time.toISOString().slice(0, 7)}-01`;

/** The months that must have a partition already: this one and MONTHS_AHEAD more. */
const monthsAhead = (now: Date) => Array.from({ length: MONTHS_AHEAD + 1 }, (_, i) => addMonths(monthOf(now), i));

const partitionName = (table: MonthlyTable, month: string) => `${table.name}_p${month.slice(0, 4)}${month.slice(5, 7)}`;
const defaultPartition = (table: MonthlyTable) => `${table.name}_default`;
const PARTITION_NAME = /_p(\d{4})(\d{2})$/;

/** The month a partition of ours holds, from its name; undefined for any other table. */
function partitionMonth(table: MonthlyTable, name: string): string | undefined {
  if (!name.startsWith(`${table.name}_p`)) return undefined;
  const match = PARTITION_NAME.exec(name);
  return match ? `${match[1]}-${match[2]}-01` : undefined;
}

/** The days a partition can be named for (`_pYYYYMM`): year 1 to 9999. */
const NAMEABLE_DAYS = (column: string) => `${column} >= '0001-01-01' AND ${column} < '10000-01-01'`;

/** A month's first day as a literal. */
const bound = (month: string) => `'${month}'::date`;

const isPartitioned = async (client: PoolClient, table: MonthlyTable) =>
  (
    await client.query<{ partitioned: boolean }>(
      `SELECT relkind = 'p' AS partitioned FROM pg_class WHERE oid = $1::regclass`,
      [table.name],
    )
  ).rows[0]!.partitioned;

/**
 * The months that have rows, oldest first: one index lookup per month. Dates before year 1 or after 9999 (and
 * infinity) have no partition name; such rows, and those without a date, stay in the default partition.
 */
async function monthsWithRows(client: PoolClient, table: MonthlyTable, relation: string): Promise<string[]> {
  const months: string[] = [];
  let from = '0001-01-01';
  while (months.length < MAX_MONTHS_WITH_DATA) {
    const { rows } = await client.query<{ month: string | null }>(
      `SELECT to_char(min(${table.column}), 'YYYY-MM') AS month FROM ${relation}
        WHERE ${table.column} >= ${bound(from)} AND ${NAMEABLE_DAYS(table.column)}`,
    );
    const month = rows[0]!.month;
    if (month === null) return months;
    months.push(`${month}-01`);
    from = addMonths(`${month}-01`, 1);
  }
  return months;
}

/**
 * Gives a new table the owner of the table it belongs to: a migrating login that is a member of the owning role
 * would otherwise own it, and another member could not attach or drop partitions later.
 */
async function ownLike(client: PoolClient, relation: string, like: string) {
  const { rows } = await client.query<{ owner: string }>(
    'SELECT quote_ident(pg_get_userbyid(relowner)) AS owner FROM pg_class WHERE oid = $1::regclass',
    [like],
  );
  await client.query(`ALTER TABLE ${relation} OWNER TO ${rows[0]!.owner}`);
}

/**
 * Creates the partition of a month, with the rows of that month the default partition holds moved into it, in one
 * transaction: the default is locked meanwhile, so no row of the month lands there between the move and the
 * attach. The partition is filled as a table of its own and attached (which locks the parent less than creating
 * it as a partition would); its check constraint spares the attach a scan.
 */
async function addMonthPartition(client: PoolClient, table: MonthlyTable, parent: string, month: string) {
  const name = partitionName(table, month);
  const [from, to] = [bound(month), bound(addMonths(month, 1))];
  await client.query(`LOCK TABLE ${defaultPartition(table)} IN ACCESS EXCLUSIVE MODE`);
  await client.query(`CREATE TABLE ${name} (LIKE ${parent} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)`);
  await ownLike(client, name, parent);
  await client.query(
    `ALTER TABLE ${name} ADD CONSTRAINT ${name}_month CHECK (${table.column} >= ${from} AND ${table.column} < ${to})`,
  );
  await client.query(
    `WITH moved AS (DELETE FROM ${defaultPartition(table)} WHERE ${table.column} >= ${from} AND ${table.column} < ${to}
                    RETURNING *)
     INSERT INTO ${name} SELECT * FROM moved`,
  );
  await client.query(`ALTER TABLE ${parent} ATTACH PARTITION ${name} FOR VALUES FROM (${from}) TO (${to})`);
}

/** Runs a step in one transaction that waits at most LOCK_TIMEOUT for a lock, and tries again if it had to give way. */
async function withShortLocks<T>(client: PoolClient, work: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await withinTransaction(client, async () => {
        await client.query(`SET LOCAL lock_timeout = '${LOCK_TIMEOUT}'`);
        return work();
      });
    } catch (error) {
      // 55P03: lock_not_available.
      if ((error as { code?: string }).code !== '55P03' || attempt === LOCK_ATTEMPTS) throw error;
    }
  }
}

/** The partitions of a partitioned table: every one we created (named by month), the default aside. */
async function partitionsOf(client: PoolClient, table: MonthlyTable, parent: string) {
  const { rows } = await client.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
      WHERE i.inhparent = $1::regclass`,
    [parent],
  );
  return rows.flatMap(({ name }) => {
    const month = partitionMonth(table, name);
    return month === undefined ? [] : [{ name, month }];
  });
}

/** Every month from this one to MONTHS_AHEAD ahead, and every month with rows in the default, has its partition. */
async function addMissingMonths(client: PoolClient, table: MonthlyTable, parent: string, now: Date) {
  const have = new Set((await partitionsOf(client, table, parent)).map((partition) => partition.month));
  const stray = await monthsWithRows(client, table, defaultPartition(table));
  const added: string[] = [];
  for (const month of [...new Set([...stray, ...monthsAhead(now)])].filter((month) => !have.has(month)).sort()) {
    await withShortLocks(client, () => addMonthPartition(client, table, parent, month));
    added.push(partitionName(table, month));
  }
  return added;
}

/** GRANT statements that give `target` what the table's grants give (table and column privileges), to the same roles. */
async function grantsLike(client: PoolClient, source: string, target: string): Promise<string[]> {
  const grantee = `CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(r.rolname) END ||
                   CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END`;
  const { rows } = await client.query<{ grant: string }>(
    `SELECT format('GRANT %s ON %I TO %s', a.privilege_type, $2::text, ${grantee}) AS grant
       FROM pg_class c CROSS JOIN LATERAL aclexplode(c.relacl) a LEFT JOIN pg_roles r ON r.oid = a.grantee
      WHERE c.oid = $1::regclass AND a.grantee <> c.relowner
     UNION ALL
     SELECT format('GRANT %s (%I) ON %I TO %s', a.privilege_type, att.attname, $2::text, ${grantee})
       FROM pg_attribute att JOIN pg_class c ON c.oid = att.attrelid
            CROSS JOIN LATERAL aclexplode(att.attacl) a LEFT JOIN pg_roles r ON r.oid = a.grantee
      WHERE att.attrelid = $1::regclass AND NOT att.attisdropped AND a.grantee <> c.relowner`,
    [source, target],
  );
  return rows.map((row) => row.grant);
}

/** A table that others depend on (a view, a foreign key) cannot be replaced by its partitioned copy. */
class PartitioningBlockedError extends Error {
  override name = 'PartitioningBlockedError';
}

interface ConversionOptions {
  /** Pages copied per transaction. @default 256 */
  batchPages?: number;
  /** Called after each batch of the copy; tests write to the table here, as loads would. */
  afterBatch?: () => Promise<void>;
}

export interface UpkeepOptions extends ConversionOptions {
  /** Today, for tests. @default now */
  now?: Date;
}

/**
 * Turns an unpartitioned table, rows and all, into a partitioned one without stopping the loads: a partitioned
 * copy is made beside it, with a partition for every month that has rows; a trigger copies each change to the
 * table into it from then on; the rows already there are copied in batches of pages, each batch holding the table
 * in SHARE mode (loads wait for that batch, readers never), with its progress recorded in the same transaction so
 * an interrupted run resumes where it stopped. Once both hold the same rows in one snapshot, the copy takes the
 * table's name and grants in a short transaction and the old table is dropped. Returns the number of rows.
 */
async function convertToPartitioned(client: PoolClient, table: MonthlyTable, options: ConversionOptions) {
  const copy = `${table.name}_partitioned`;
  await withShortLocks(client, async () => {
    // Nothing is written to the table between its last page being noted and the trigger following its changes.
    await client.query(`LOCK TABLE ${table.name} IN SHARE ROW EXCLUSIVE MODE`);
    const begun = await client.query('SELECT FROM partitioning_progress WHERE table_name = $1', [table.name]);
    if (begun.rowCount) return;
    await client.query(
      `CREATE TABLE ${copy} (LIKE ${table.name} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)
       PARTITION BY RANGE (${table.column})`,
    );
    await client.query(`CREATE TABLE ${defaultPartition(table)} PARTITION OF ${copy} DEFAULT`);
    await ownLike(client, copy, table.name);
    await ownLike(client, defaultPartition(table), table.name);
    await client.query(`CREATE UNIQUE INDEX ${table.name}_by_message_id ON ${copy} (message_id, ${table.column})`);
    for (const column of table.indexed) {
      await client.query(`CREATE INDEX ${table.name}_by_${column} ON ${copy} (${column})`);
    }
    for (const month of await monthsWithRows(client, table, table.name)) {
      await addMonthPartition(client, table, copy, month);
    }
    await client.query(
      `CREATE TRIGGER partitioning_mirror AFTER INSERT OR UPDATE OR DELETE ON ${table.name}
       FOR EACH ROW EXECUTE FUNCTION partitioning_mirror('${copy}')`,
    );
    await client.query(
      `CREATE TRIGGER partitioning_no_truncate BEFORE TRUNCATE ON ${table.name}
       FOR EACH STATEMENT EXECUTE FUNCTION partitioning_mirror('${copy}')`,
    );
    await client.query(
      `INSERT INTO partitioning_progress (table_name, last_page)
       VALUES ($1::text, pg_relation_size($1::text::regclass) / current_setting('block_size')::bigint)`,
      [table.name],
    );
  });

  const batchPages = options.batchPages ?? COPY_BATCH_PAGES;
  for (;;) {
    const copied = await withShortLocks(client, async () => {
      const { rows } = await client.query<{ next_page: string; last_page: string }>(
        'SELECT next_page, last_page FROM partitioning_progress WHERE table_name = $1 FOR UPDATE',
        [table.name],
      );
      const [from, last] = [Number(rows[0]!.next_page), Number(rows[0]!.last_page)];
      if (from >= last) return false;
      const to = Math.min(from + batchPages, last);
      await client.query(`LOCK TABLE ${table.name} IN SHARE MODE`);
      // A row the trigger copied already is there by its key; rows without a key cannot have been (it refuses them).
      await client.query(
        `INSERT INTO ${copy} SELECT * FROM ${table.name}
          WHERE ctid >= '(${from},0)'::tid AND ctid < '(${to},0)'::tid
         ON CONFLICT DO NOTHING`,
      );
      await client.query('UPDATE partitioning_progress SET next_page = $2 WHERE table_name = $1', [table.name, to]);
      return true;
    });
    if (!copied) break;
    await options.afterBatch?.();
  }

  const rows = await withinTransaction(client, async () => {
    await client.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ');
    const { rows: counts } = await client.query<{ before: string; after: string }>(
      `SELECT (SELECT count(*) FROM ${table.name}) AS before, (SELECT count(*) FROM ${copy}) AS after`,
    );
    const { before, after } = counts[0]!;
    if (before !== after) {
      throw new Error(
        `partitioning ${table.name}: the copy holds ${after} rows, the table ${before}; nothing replaced`,
      );
    }
    return Number(before);
  });

  await withShortLocks(client, async () => {
    await client.query(`LOCK TABLE ${table.name} IN ACCESS EXCLUSIVE MODE`);
    for (const grant of await grantsLike(client, table.name, copy)) await client.query(grant);
    try {
      await client.query(`DROP TABLE ${table.name}`);
    } catch (error) {
      // 2BP01: dependent_objects_still_exist.
      if ((error as { code?: string }).code !== '2BP01') throw error;
      throw new PartitioningBlockedError(
        `${table.name} cannot be partitioned while other objects depend on it (${(error as Error).message}): ` +
          'drop them, run `npm run migrate`, then create them again',
        { cause: error },
      );
    }
    await client.query(`ALTER TABLE ${copy} RENAME TO ${table.name}`);
    await client.query('DELETE FROM partitioning_progress WHERE table_name = $1', [table.name]);
  });
  await client.query(`ANALYZE ${table.name}`);
  return rows;
}

/** Whether this role can do the partitions' upkeep: it owns the table and migration 010 has given it the trigger. */
export async function mayKeepPartitions(client: Pick<PoolClient, 'query'>): Promise<boolean> {
  const { rows } = await client.query<{ may: boolean }>(
    `SELECT to_regprocedure('partitioning_mirror()') IS NOT NULL
            AND pg_has_role(current_user, relowner, 'USAGE') AS may
       FROM pg_class WHERE oid = $1::regclass`,
    [LOGINS_BY_MONTH.name],
  );
  return rows[0]?.may ?? false;
}

/** Whether the table still needs converting, a month ahead its partition, or the default partition a month's rows. */
export async function partitionsNeedUpkeep(client: PoolClient, now = new Date()): Promise<boolean> {
  const table = LOGINS_BY_MONTH;
  if (!(await isPartitioned(client, table))) return true;
  const have = new Set((await partitionsOf(client, table, table.name)).map((partition) => partition.month));
  if (monthsAhead(now).some((month) => !have.has(month))) return true;
  const { rowCount } = await client.query(
    `SELECT FROM ${defaultPartition(table)} WHERE ${NAMEABLE_DAYS(table.column)} LIMIT 1`,
  );
  return Boolean(rowCount);
}

/**
 * The partitions' upkeep, as the owner: converts the table if it is not partitioned yet, creates the partitions of
 * the months ahead and moves the rows the default partition took into partitions of their months. Returns what it
 * did, one line per step.
 */
export async function keepPartitions(client: PoolClient, options: UpkeepOptions = {}): Promise<string[]> {
  const table = LOGINS_BY_MONTH;
  const done: string[] = [];
  if (!(await isPartitioned(client, table))) {
    const rows = await convertToPartitioned(client, table, options);
    done.push(`${table.name} partitioned by month (${rows} rows)`);
  }
  done.push(...(await addMissingMonths(client, table, table.name, options.now ?? new Date())));
  return done;
}

/** The partitions of whole months before `cutoff` (a first of a month), and how many rows each holds. */
export async function partitionsBefore(client: PoolClient, cutoff: string) {
  const table = LOGINS_BY_MONTH;
  const old = (await partitionsOf(client, table, table.name)).filter(({ month }) => addMonths(month, 1) <= cutoff);
  const counted: { name: string; month: string; rows: number }[] = [];
  for (const partition of old.sort((a, b) => a.month.localeCompare(b.month))) {
    const { rows } = await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${partition.name}`);
    counted.push({ ...partition, rows: rows[0]!.n });
  }
  return counted;
}

/** Where the logins that no month's partition holds are: the default partition, or the table if not converted. */
export async function loginsOutsideMonths(client: PoolClient): Promise<string> {
  return (await isPartitioned(client, LOGINS_BY_MONTH)) ? defaultPartition(LOGINS_BY_MONTH) : LOGINS_BY_MONTH.name;
}

/** Drops a partition: a short exclusive lock of the parent, nothing to vacuum afterwards. */
export async function dropPartition(client: PoolClient, name: string): Promise<void> {
  await withShortLocks(client, () => client.query(`DROP TABLE ${name}`));
}
