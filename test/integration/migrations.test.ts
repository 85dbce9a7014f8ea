import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Pool } from 'pg';
import { migrate } from '../../src/db/migrate';
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

  it('keep the reference table and its rows when it already exists', async () => {
    const pool = await freshDatabase();
    try {
      await pool.query(REFERENCE_DDL);
      await migrate(pool);
      const { rows } = await pool.query<{ user_id: string; message_id: string | null }>(
        'SELECT user_id, message_id FROM user_logins ORDER BY user_id',
      );
      assert.deepEqual(rows, [
        { user_id: 'old-1', message_id: null },
        { user_id: 'old-2', message_id: null },
      ]);
      await pool.query(`INSERT INTO user_logins (user_id, message_id) VALUES ('new', 'm-1')`);
      await assert.rejects(pool.query(`INSERT INTO user_logins (user_id, message_id) VALUES ('again', 'm-1')`), {
        code: '23505',
      });
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
