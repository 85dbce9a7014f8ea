import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { Pool } from 'pg';
import { loadParameters, loadStatement, type LoadOutcome } from '../../src/db/load-statement';
import { listMigrations, migrate } from '../../src/db/migrate';
import { createTestDatabase } from '../helpers/pipeline';

/** The exercise's own Postgres image creates this table, with rows, before the pipeline ever runs. */
const REFERENCE_DDL = `
CREATE TABLE user_logins (
  user_id varchar(128), device_type varchar(32), masked_ip varchar(256), masked_device_id varchar(256),
  locale varchar(32), app_version integer, create_date date
);
INSERT INTO user_logins VALUES ('old-1', 'ios', 'x', 'y', 'RU', 230, '2020-01-01'), ('old-2', 'android', 'x', 'y', NULL, 3, '2020-01-02');`;

async function freshDatabase(): Promise<Pool> {
  return new Pool({ connectionString: await createTestDatabase('migrations') });
}

const columns = async (pool: Pool, table: string) =>
  (
    await pool.query<{ column_name: string; type: string }>(
      `SELECT attname AS column_name, format_type(atttypid, atttypmod) AS type
         FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum`,
      [table],
    )
  ).rows.map((row) => `${row.column_name} ${row.type}`);

const relkind = async (pool: Pool, table: string) =>
  (await pool.query<{ relkind: string }>('SELECT relkind FROM pg_class WHERE oid = $1::regclass', [table])).rows[0]!
    .relkind;

const partitionNames = async (pool: Pool, table: string) =>
  (
    await pool.query<{ name: string }>(
      'SELECT inhrelid::regclass::text AS name FROM pg_inherits WHERE inhparent = $1::regclass ORDER BY 1',
      [table],
    )
  ).rows.map((row) => row.name);

describe('migrations', () => {
  it('create the schema on an empty database, and a second run changes nothing', async () => {
    const pool = await freshDatabase();
    try {
      assert.ok((await migrate(pool)).length > 0);
      assert.deepEqual(await migrate(pool), []);
      assert.deepEqual((await columns(pool, 'user_logins')).slice(0, 8), [
        'user_id character varying(128)',
        'device_type character varying(32)',
        'masked_ip character varying(256)',
        'masked_device_id character varying(256)',
        'locale character varying(32)',
        'app_version integer',
        'create_date date',
        'message_id character varying(128)',
      ]);
      assert.ok((await columns(pool, 'quarantined_messages')).includes('message_id character varying(128)'));
    } finally {
      await pool.end();
    }
  });

  it('keep the reference table and its rows when it already exists, partitioned by month', async () => {
    const pool = await freshDatabase();
    try {
      await pool.query(REFERENCE_DDL);
      await migrate(pool);
      const { rows } = await pool.query<{ user_id: string; message_id: string | null; partition: string }>(
        'SELECT user_id, message_id, tableoid::regclass::text AS partition FROM user_logins ORDER BY user_id',
      );
      assert.deepEqual(rows, [
        { user_id: 'old-1', message_id: null, partition: 'user_logins_p202001' },
        { user_id: 'old-2', message_id: null, partition: 'user_logins_p202001' },
      ]);
      assert.equal(await relkind(pool, 'user_logins'), 'p');
      assert.equal(await relkind(pool, 'quarantined_messages'), 'r', 'one table, its message_id unique');
      const row = `(user_id, message_id, create_date) VALUES ('new', 'm-1', '2026-01-05')`;
      await pool.query(`INSERT INTO user_logins ${row}`);
      await assert.rejects(pool.query(`INSERT INTO user_logins ${row}`), { code: '23505' });
    } finally {
      await pool.end();
    }
  });

  it('partition a table with rows in batches while rows are loaded, updated and deleted, losing and doubling none', async () => {
    const pool = await freshDatabase();
    try {
      await pool.query(REFERENCE_DDL);
      // Dates no month's partition can be named for, and none at all: they stay in the default partition.
      await pool.query(`INSERT INTO user_logins (user_id, create_date) VALUES
                          ('bc', '0044-03-15 BC'), ('far', 'infinity'), ('none', NULL)`);
      // Migrations up to the last unpartitioned release, then the reference rows and 5,000 loaded ones.
      await migrate(
        pool,
        listMigrations().filter((m) => m.version < '010'),
      );
      await pool.query(`INSERT INTO user_logins (user_id, message_id, create_date, masked_ip)
                        SELECT 'u' || i, 'm-' || i, date '2026-06-30' - (i % 200), 'ip-' || i
                          FROM generate_series(1, 5000) i`);
      await pool.query(`INSERT INTO quarantined_messages (message_id, reason, body_bytes, sent_at)
                        SELECT 'q-' || i, 'bad', 1, timestamptz '2026-06-30 23:00+00' - i * interval '1 day'
                          FROM generate_series(1, 40) i`);
      await pool.query('CREATE ROLE login_etl_migration_reader NOLOGIN').catch(() => undefined);
      await pool.query('CREATE ROLE login_etl_migration_owner NOLOGIN').catch(() => undefined);
      await pool.query('ALTER TABLE user_logins OWNER TO login_etl_migration_owner');
      await pool.query('GRANT SELECT (user_id, create_date) ON user_logins TO login_etl_migration_reader');
      let batches = 0;
      const applied = await migrate(pool, undefined, {
        batchPages: 4,
        now: new Date('2026-07-15T00:00:00Z'),
        afterBatch: async () => {
          batches += 1;
          // As loads and operators would: new rows (one in a month with no partition yet), a changed and a deleted one.
          await pool.query(
            `INSERT INTO user_logins (user_id, message_id, create_date)
                            VALUES ('during-' || $1, 'd-' || $1, date '2030-01-01' + $1::int)`,
            [batches],
          );
          await pool.query(`UPDATE user_logins SET masked_ip = 'rotated' WHERE message_id = 'm-' || $1`, [batches]);
          await pool.query(`DELETE FROM user_logins WHERE message_id = 'm-' || (5000 - $1)`, [batches]);
          await assert.rejects(pool.query(`DELETE FROM user_logins WHERE user_id = 'old-1'`), /being partitioned/);
        },
      });
      assert.ok(batches > 5, `copied in ${batches} batches`);
      assert.ok(applied.includes('010_partitioning'));
      assert.ok(
        applied.some((step) => /^user_logins partitioned by month \(\d+ rows\)$/.test(step)),
        applied.join(),
      );
      const count = async (sql: string) => Number((await pool.query<{ n: number }>(sql)).rows[0]!.n);
      assert.equal(await count('SELECT count(*)::int AS n FROM user_logins'), 5 + 5000 + batches - batches);
      assert.equal(await count('SELECT count(DISTINCT message_id)::int AS n FROM user_logins'), 5000);
      assert.equal(await count(`SELECT count(*)::int AS n FROM user_logins WHERE masked_ip = 'rotated'`), batches);
      assert.equal(await count(`SELECT count(*)::int AS n FROM user_logins WHERE message_id LIKE 'd-%'`), batches);
      assert.equal(await count('SELECT count(*)::int AS n FROM quarantined_messages'), 40);
      assert.equal(await relkind(pool, 'user_logins'), 'p');
      // A partition for each month with rows (those loaded meanwhile too), this month and three ahead.
      const partitions = await partitionNames(pool, 'user_logins');
      for (const month of ['p202001', 'p202512', 'p202606', 'p202607', 'p202610', 'p203001', 'default']) {
        assert.ok(partitions.includes(`user_logins_${month}`), partitions.join());
      }
      assert.equal(await count('SELECT count(*)::int AS n FROM user_logins_default'), 3, 'BC, infinity, none');
      const grants = await pool.query<{ column_name: string }>(
        `SELECT column_name FROM information_schema.column_privileges
          WHERE table_name = 'user_logins' AND grantee = 'login_etl_migration_reader' ORDER BY 1`,
      );
      assert.deepEqual(
        grants.rows.map((row) => row.column_name),
        ['create_date', 'user_id'],
      );
      const { rows: owners } = await pool.query<{ owner: string }>(
        `SELECT DISTINCT pg_get_userbyid(relowner) AS owner FROM pg_class
          WHERE oid = 'user_logins'::regclass OR oid IN (SELECT inhrelid FROM pg_inherits
                                                          WHERE inhparent = 'user_logins'::regclass)`,
      );
      assert.deepEqual(owners, [{ owner: 'login_etl_migration_owner' }], 'owned as the table was');

      // A row of a month without a partition still loads, into the default; the next upkeep moves it out.
      await pool.query(
        `INSERT INTO user_logins (user_id, message_id, create_date) VALUES ('far', 'f-1', '2031-03-03')`,
      );
      assert.equal(await count('SELECT count(*)::int AS n FROM user_logins_default'), 4);
      const later = await migrate(pool, undefined, { now: new Date('2026-07-15T00:00:00Z') });
      assert.deepEqual(later, ['user_logins_p203103']);
      assert.equal(await count('SELECT count(*)::int AS n FROM user_logins_default'), 3);
      assert.equal(await count('SELECT count(*)::int AS n FROM user_logins'), 5006);
      assert.deepEqual(await migrate(pool, undefined, { now: new Date('2026-07-15T00:00:00Z') }), []);
    } finally {
      await pool.end();
    }
  });

  it('load a message once even when its deliveries got different send days (a server that gives none)', async () => {
    const pool = await freshDatabase();
    try {
      await migrate(pool);
      await pool.query(`SELECT pii_claim_root('fingerprint')`);
      const load = async (day: string) => {
        const sentAt = `${day}T23:59:00.000Z`;
        const row = {
          message_id: 'm-1',
          user_id: 'u',
          device_type: 'ios',
          masked_ip: 'v1:ip',
          masked_device_id: 'v1:dev',
          ip_valid: true,
          locale: null,
          app_version: 1,
          app_version_text: '0.0.1',
          create_date: day,
          sent_at: sentAt,
          sent_at_source: 'receipt',
        };
        const record = {
          message_id: 'q-1',
          reason: 'bad',
          sent_at: sentAt,
          receive_count: 1,
          body_bytes: 1,
          body_sealed: null,
          body_key_id: null,
        };
        const writes = { rows: [row], records: [record], vault: [] };
        const { rows } = await pool.query<LoadOutcome>(
          loadStatement(loadParameters(1, 'fingerprint', randomUUID(), writes)),
        );
        return [rows[0]!.loaded, rows[0]!.quarantined];
      };
      assert.deepEqual(await load('2026-05-31'), [1, 1]);
      assert.deepEqual(await load('2026-05-31'), [0, 0], 'a redelivery');
      assert.deepEqual(await load('2026-06-03'), [0, 0], 'another day, another month, another partition');
      const { rows } = await pool.query<{ n: number }>(
        `SELECT (SELECT count(*) FROM user_logins)::int + (SELECT count(*) FROM quarantined_messages)::int AS n`,
      );
      assert.equal(rows[0]!.n, 2);
    } finally {
      await pool.end();
    }
  });

  it('serialize migrators that start at the same moment', async () => {
    const pool = await freshDatabase();
    try {
      const results = await Promise.all([migrate(pool), migrate(pool), migrate(pool)]);
      assert.equal(results.filter((applied) => applied.length > 0).length, 1);
    } finally {
      await pool.end();
    }
  });
});
