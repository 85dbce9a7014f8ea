import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Client as PgClient, Pool } from 'pg';
import { canonicalValue } from '../../src/core/canonical-pii';
import { tokenize } from '../../src/core/mask';
import { sealVaultEntry, vaultSealer } from '../../src/core/vault';
import { migrate } from '../../src/db/migrate';
import { createPool } from '../../src/db/pool';
import { reveal } from '../../src/pii/reveal';
import { loadOpeningKeys } from '../../src/secrets';
import { readBodies, SAMPLE_DATA_FILE } from '../../src/seed-messages';
import { waitUntil } from '../../src/stack/readiness';
import { createTestPipeline, type TestPipeline } from '../helpers/pipeline';

/**
 * Three real login roles on one database: the owner migrates, a worker drains, an operator reveals. Each is
 * checked against what it must not do. The group roles are made first, as an administrator would.
 */
describe('database roles', () => {
  const suffix = randomBytes(3).toString('hex');
  const password = randomBytes(12).toString('hex');
  const roles = {
    owner: `t_owner_${suffix}`,
    worker: `t_worker_${suffix}`,
    operator: `t_operator_${suffix}`,
    analyst: `t_analyst_${suffix}`,
  };
  const database = `t_roles_${suffix}`;
  const admin = new PgClient({ connectionString: process.env.DATABASE_URL });
  const urlAs = (role: string) =>
    Object.assign(new URL(process.env.DATABASE_URL!), {
      username: role,
      password,
      pathname: `/${database}`,
    }).toString();
  const pools: Pool[] = [];
  const poolAs = (role: string) => {
    const pool = new Pool({ connectionString: urlAs(role), max: 2 });
    pools.push(pool);
    return pool;
  };
  let pipeline: TestPipeline | undefined;

  before(async () => {
    await admin.connect();
    for (const group of ['login_etl_worker', 'login_etl_operator', 'login_etl_analyst']) {
      await admin.query(
        `DO $$ BEGIN CREATE ROLE ${group} NOLOGIN; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$`,
      );
    }
    await admin.query(`CREATE ROLE ${roles.owner} LOGIN PASSWORD '${password}'`);
    await admin.query(`CREATE ROLE ${roles.worker} LOGIN PASSWORD '${password}' IN ROLE login_etl_worker`);
    await admin.query(`CREATE ROLE ${roles.operator} LOGIN PASSWORD '${password}' IN ROLE login_etl_operator`);
    await admin.query(`CREATE ROLE ${roles.analyst} LOGIN PASSWORD '${password}' IN ROLE login_etl_analyst`);
    await admin.query(`CREATE DATABASE ${database} OWNER ${roles.owner}`);
    // Some administrators let analysts make their own schemas.
    await admin.query(`GRANT CREATE ON DATABASE ${database} TO ${roles.analyst}`);
  });

  after(async () => {
    await pipeline?.close();
    await Promise.all(pools.map((pool) => pool.end()));
    // A pool's end() resolves before its sockets close: a connection dropped from under it would throw in this
    // process, so the database is dropped only once its last backend has gone.
    await waitUntil('the test database idle', async () => {
      const { rows } = await admin.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1',
        [database],
      );
      return rows[0]!.n === 0;
    });
    await admin.query(`DROP DATABASE IF EXISTS ${database}`);
    for (const role of Object.values(roles)) await admin.query(`DROP ROLE IF EXISTS ${role}`);
    await admin.end();
  });

  it('a worker may not migrate: it is told to run npm run migrate as the owner', async () => {
    await assert.rejects(migrate(poolAs(roles.worker)), /run `npm run migrate` as the database owner/);
  });

  it('the owner migrates', async () => {
    assert.ok((await migrate(poolAs(roles.owner))).length > 0);
  });

  it('a worker drains the sample data with insert rights alone', async () => {
    pipeline = await createTestPipeline('roles', urlAs(roles.worker));
    await pipeline.startWorker();
    await pipeline.send(readBodies(SAMPLE_DATA_FILE));
    const summary = await pipeline.drain();
    assert.deepEqual([summary.loaded, summary.quarantined], [99, 1]);
  });

  it('an analyst cannot shadow an operator the pipeline uses, in public or in a schema named after a login', async () => {
    const analyst = poolAs(roles.analyst);
    const shadow = (schema: string) => `
      CREATE FUNCTION ${schema}.shadow_eq(varchar, varchar) RETURNS boolean LANGUAGE plpgsql AS
        $$ BEGIN RAISE EXCEPTION 'shadowed'; END $$;
      CREATE OPERATOR ${schema}.= (LEFTARG = varchar, RIGHTARG = varchar, FUNCTION = ${schema}.shadow_eq)`;
    await assert.rejects(analyst.query(shadow('public')), /permission denied for schema public/);
    // The default search_path starts with "$user": a schema with the worker's login name comes before public.
    await analyst.query(`CREATE SCHEMA ${roles.worker}`);
    await analyst.query(shadow(roles.worker));
    await analyst.query(`GRANT USAGE ON SCHEMA ${roles.worker} TO PUBLIC`);
    const lookup = 'SELECT count(*) FROM user_logins WHERE message_id = ANY($1::varchar[])';
    await assert.rejects(
      poolAs(roles.worker).query(lookup, [['m']]),
      /shadowed/,
      'the shadow is real on the default path',
    );
    const pinned = createPool({ databaseUrl: urlAs(roles.worker) }, 1);
    try {
      await pinned.query(lookup, [['m']]);
    } finally {
      await pinned.end();
    }
  });

  it('a worker cannot read vault values or the audit trail, nor alter them or the key state', async () => {
    const worker = poolAs(roles.worker);
    const refused = [
      'SELECT value_sealed FROM pii_vault',
      'SELECT * FROM pii_audit',
      "INSERT INTO pii_audit (actor, action, reason, outcome) VALUES ('w', 'reveal', 'r', 'o')",
      "SELECT pii_append_audit('w', 'reveal', NULL, NULL, NULL, 'r', 'o')",
      'ALTER TABLE pii_audit DISABLE TRIGGER pii_audit_no_change',
      'DROP TRIGGER pii_audit_no_change ON pii_audit',
      'UPDATE pii_vault SET value_sealed = NULL',
      'DELETE FROM pii_vault',
      'UPDATE pii_key_state SET active_version = 9',
      'UPDATE pii_key_state SET updated_at = now()',
      'SELECT * FROM pii_key_state FOR SHARE',
      'DELETE FROM user_logins',
      'UPDATE user_logins SET masked_ip = NULL',
    ];
    for (const sql of refused) {
      await assert.rejects(worker.query(sql), /permission denied|must be owner/, sql);
    }
    const { rows } = await worker.query<{ n: number }>('SELECT count(*)::int AS n FROM pii_vault');
    assert.equal(rows[0]!.n, 198, 'it may count tokens (the conflict key), not read values');
  });

  it('a worker cannot plant a tombstone nor read sealed bodies or masked values', async () => {
    const worker = poolAs(roles.worker);
    for (const sql of [
      "INSERT INTO pii_vault (field, token, key_version, forgotten_at) VALUES ('ip', 'v1:planted', 1, now())",
      "INSERT INTO pii_vault (field, token, key_version, forget_audit_id) VALUES ('ip', 'v1:planted', 1, 1)",
      'SELECT body_sealed FROM quarantined_messages',
      'SELECT reason FROM quarantined_messages',
      'SELECT masked_ip, user_id FROM user_logins',
    ]) {
      await assert.rejects(worker.query(sql), /permission denied/, sql);
    }
  });

  it('reveal refuses a value a worker planted under its own token, and says so in the audit', async () => {
    // A worker holds the root's token keys and the operator's public key: it seals a victim's address under the
    // token of its own, as a load would write it.
    const keys = pipeline!.keyring.keySet(1);
    const ownToken = tokenize(keys, 'ip', canonicalValue('ip', '203.0.113.7'));
    const planted = sealVaultEntry(vaultSealer(pipeline!.deps.sealTo), 1, 'ip', ownToken, '198.51.100.23');
    await poolAs(roles.worker).query(
      'INSERT INTO pii_vault (field, token, key_version, value_sealed, seal_key_id) VALUES ($1, $2, $3, $4, $5)',
      [
        planted.field,
        planted.token,
        planted.key_version,
        Buffer.from(planted.value_sealed, 'base64'),
        planted.seal_key_id,
      ],
    );
    const operator = poolAs(roles.operator);
    const [result] = await reveal(operator, await loadOpeningKeys(pipeline!.config), {
      token: ownToken,
      actor: 'auditor',
      reason: 'roles test: planted entry',
    });
    assert.equal(result!.status, 'mismatch', 'the victim value is not shown');
    const audit = await operator.query<{ outcome: string }>('SELECT outcome FROM pii_audit ORDER BY id DESC LIMIT 1');
    assert.match(audit.rows[0]!.outcome, /^refused: the entry does not match its token/);
  });

  it('an operator reveals, and the audit row names its login role; it cannot write or alter the audit itself', async () => {
    const operator = poolAs(roles.operator);
    const { rows } = await operator.query<{ masked_ip: string }>('SELECT masked_ip FROM user_logins LIMIT 1');
    const [revealed] = await reveal(operator, await loadOpeningKeys(pipeline!.config), {
      token: rows[0]!.masked_ip,
      actor: 'someone-else',
      reason: 'roles test',
    });
    assert.equal(revealed!.status, 'revealed');
    const audit = await operator.query<{ actor: string; db_user: string }>(
      'SELECT actor, db_user FROM pii_audit ORDER BY id DESC LIMIT 1',
    );
    assert.deepEqual(audit.rows[0], { actor: 'someone-else', db_user: roles.operator });
    for (const sql of [
      "INSERT INTO pii_audit (actor, db_user, action, reason, outcome) VALUES ('o', 'nobody', 'reveal', 'r', 'o')",
      'ALTER TABLE pii_audit DISABLE TRIGGER pii_audit_no_change',
      "UPDATE pii_audit SET reason = 'nothing'",
      'DROP FUNCTION pii_append_audit(text, text, text, text, text, text, text)',
    ]) {
      await assert.rejects(operator.query(sql), /permission denied|must be owner|append-only/, sql);
    }
  });
});
