import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { retentionCutoff } from '../../src/pii/retention';
import { runCommand } from '../helpers/commands';
import { drainSampleWithOldLogins, usePipeline } from '../helpers/pipeline';

const lastLine = (text: string) => text.trim().split('\n').at(-1) ?? '';

describe('retention', () => {
  const pipelineOf = usePipeline('retention');

  it('keeps the cutoff at the first of the month N days ago, so only months wholly older go', () => {
    assert.equal(retentionCutoff(new Date('2026-12-04T10:00:00Z'), 365), '2025-12-01');
    assert.equal(retentionCutoff(new Date('2026-03-01T00:00:00Z'), 1), '2026-02-01');
  });

  it('removes old logins and quarantine records, shreds the vault values only they used, and audits the run', async () => {
    const pipeline = pipelineOf();
    const { pool } = pipeline.deps;
    // Thirty logins and the quarantine record from two years ago.
    await drainSampleWithOldLogins(pipeline, 30);
    await pool.query(`UPDATE quarantined_messages SET quarantined_at = quarantined_at - interval '730 days'`);
    const count = async (sql: string) => Number((await pool.query<{ n: number }>(sql)).rows[0]!.n);
    const onlyOld = `SELECT count(*)::int AS n FROM pii_vault v WHERE v.value_sealed IS NOT NULL AND NOT EXISTS (
        SELECT FROM user_logins u WHERE u.create_date >= current_date - 365
          AND (u.masked_ip = v.token OR u.masked_device_id = v.token))`;
    const expectedShred = await count(onlyOld);
    assert.ok(expectedShred > 0);
    const vaultBefore = await count('SELECT count(*)::int AS n FROM pii_vault');

    const dry = await runCommand('src/cli/retention.ts', ['--keep-days', '365', '--dry-run', '--json'], pipeline.env);
    assert.equal(dry.code, 0, dry.stderr);
    const planned = JSON.parse(lastLine(dry.stdout)) as Record<string, unknown>;
    assert.deepEqual(
      [planned.dryRun, planned.logins, planned.quarantineRecords, planned.vaultValues],
      [true, 30, 1, expectedShred],
    );
    assert.equal(await count('SELECT count(*)::int AS n FROM user_logins'), 99, 'a dry run removes nothing');

    const run = await runCommand('src/cli/retention.ts', ['--keep-days', '365', '--json'], pipeline.env);
    assert.equal(run.code, 0, run.stderr);
    const report = JSON.parse(lastLine(run.stdout)) as Record<string, unknown>;
    assert.deepEqual([report.logins, report.quarantineRecords, report.vaultValues], [30, 1, expectedShred]);
    // The upkeep before it gave the moved rows partitions of their months, which went whole.
    const dropped = report.partitionsDropped as string[];
    assert.deepEqual(dropped, planned.partitionsDropped);
    assert.ok(dropped.length > 0 && dropped.every((name) => /^user_logins_p\d{6}$/.test(name)), dropped.join());
    const { rows: left } = await pool.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM pg_class WHERE relname = ANY($1::text[])',
      [dropped],
    );
    assert.equal(left[0]!.n, 0);
    assert.equal(await count('SELECT count(*)::int AS n FROM user_logins'), 69);
    assert.equal(await count('SELECT count(*)::int AS n FROM quarantined_messages'), 0);
    assert.equal(await count('SELECT count(*)::int AS n FROM pii_vault'), vaultBefore - expectedShred);
    assert.equal(await count(onlyOld), 0);
    const missing = `SELECT count(*)::int AS n FROM user_logins u WHERE NOT EXISTS (
        SELECT FROM pii_vault v WHERE v.token = u.masked_ip) OR NOT EXISTS (
        SELECT FROM pii_vault v WHERE v.token = u.masked_device_id)`;
    assert.equal(await count(missing), 0, 'every remaining login keeps its vault values');
    const { rows } = await pool.query<{ action: string; outcome: string }>(
      "SELECT action, outcome FROM pii_audit WHERE action = 'retention'",
    );
    assert.equal(rows.length, 1, 'one audit row, and none for the dry run');
    assert.match(rows[0]!.outcome, /^removed 30 logins and 1 quarantine records before \d{4}-\d{2}-01 \(\d+ monthly/);
  });
});
