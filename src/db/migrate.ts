import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Pool } from 'pg';
import { withinTransaction } from './in-transaction';
import { keepPartitions, mayKeepPartitions, partitionsNeedUpkeep, type UpkeepOptions } from './partitioning';

const MIGRATIONS_DIR = path.join(__dirname, 'migrations');

/** Any fixed number: it serializes migrators (worker, stack, tests) that start at the same moment. */
const MIGRATION_LOCK = 0x6c6f67696e;

export interface Migration {
  version: string;
  sql: string;
}

export function listMigrations(dir: string = MIGRATIONS_DIR): Migration[] {
  return readdirSync(dir)
    .filter((file) => file.endsWith('.sql'))
    .sort()
    .map((file) => ({ version: file.replace(/\.sql$/, ''), sql: readFileSync(path.join(dir, file), 'utf8') }));
}

/** The migrations not yet recorded (all of them on an empty database). */
async function pendingMigrations(
  pool: Pick<Pool, 'query'>,
  migrations: Migration[] = listMigrations(),
): Promise<Migration[]> {
  const { rows: table } = await pool.query<{ exists: boolean }>(
    "SELECT to_regclass('schema_migrations') IS NOT NULL AS exists",
  );
  if (!table[0]!.exists) return migrations;
  const { rows } = await pool.query<{ version: string }>('SELECT version FROM schema_migrations');
  const done = new Set(rows.map((row) => row.version));
  return migrations.filter((m) => !done.has(m.version));
}

/** A role that may not change the schema found migrations to apply. */
class SchemaBehindError extends Error {
  override name = 'SchemaBehindError';
}

/** The owner has partitions to keep (src/db/partitioning.ts); other roles leave that to it. */
async function partitionUpkeepDue(pool: Pool, now?: Date): Promise<boolean> {
  const client = await pool.connect();
  try {
    return (await mayKeepPartitions(client)) && (await partitionsNeedUpkeep(client, now));
  } finally {
    client.release();
  }
}

/**
 * Applies, in order and each in its own transaction, the forward-only migrations not yet recorded, then, as the
 * owner, the partitions' upkeep (a table converted, the months ahead). A database that is up to date takes no DDL,
 * so workers and operators run this at start under roles without DDL rights; one that is behind needs the owner
 * (`npm run migrate`). Returns the migrations applied and the partitioning steps taken.
 */
export async function migrate(
  pool: Pool,
  migrations: Migration[] = listMigrations(),
  partitioning: UpkeepOptions = {},
): Promise<string[]> {
  if ((await pendingMigrations(pool, migrations)).length === 0 && !(await partitionUpkeepDue(pool, partitioning.now)))
    return [];
  const client = await pool.connect();
  const applied: string[] = [];
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    await client.query(
      'CREATE TABLE IF NOT EXISTS schema_migrations (version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())',
    );
    // Read again under the lock: another migrator may have applied some since the check above.
    for (const migration of await pendingMigrations(client, migrations)) {
      await withinTransaction(client, async () => {
        await client.query(migration.sql);
        await client.query('INSERT INTO schema_migrations (version) VALUES ($1)', [migration.version]);
      });
      applied.push(migration.version);
    }
    if (await mayKeepPartitions(client)) applied.push(...(await keepPartitions(client, partitioning)));
  } catch (error) {
    // 42501: insufficient privilege, or not the owner of what a migration alters.
    if ((error as { code?: string }).code === '42501') {
      throw new SchemaBehindError(
        'the database schema needs migrations this role may not apply: run `npm run migrate` as the database owner',
        { cause: error },
      );
    }
    throw error;
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
    client.release();
  }
  return applied;
}
