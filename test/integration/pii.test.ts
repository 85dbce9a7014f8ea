import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { createHeldActivities } from '../../src/activities';
import { canonicalIp } from '../../src/core/canonical-pii';
import { createKeyring } from '../../src/core/keys';
import { aliasOf, tokenize } from '../../src/core/mask';
import { validateLoginMessage } from '../../src/core/validate-message';
import { transformBatch } from '../../src/core/transform-batch';
import { LOAD_SQL, loadParameters } from '../../src/db/load-statement';
import { forget } from '../../src/pii/forget';
import { NotFoundError } from '../../src/pii/lookup';
import { claimKeyState, RootKeyMismatchError } from '../../src/pii/key-state';
import { reveal } from '../../src/pii/reveal';
import { rotate, rotateRoot } from '../../src/pii/rotate';
import { piiStatus } from '../../src/pii/status';
import { loadOpeningKeys } from '../../src/secrets';
import { readBodies, SAMPLE_DATA_FILE } from '../../src/seed-messages';
import { runActivity } from '../helpers/activities';
import { runCommand } from '../helpers/commands';
import { usePipeline } from '../helpers/pipeline';

const sample = readBodies(SAMPLE_DATA_FILE);
const events = sample.flatMap((body) => {
  const result = validateLoginMessage(body);
  return result.ok ? [result.event] : [];
});
const loginBody = (userId: string, ip: string, deviceId: string) =>
  JSON.stringify({
    user_id: userId,
    app_version: '3.1.4',
    device_type: 'android',
    ip,
    locale: 'en',
    device_id: deviceId,
  });

describe('PII recovery, erasure and rotation', () => {
  const pipelineOf = usePipeline('pii');
  const operator = { actor: 'alice', reason: 'support ticket 42' };
  const opening = () => loadOpeningKeys(pipelineOf().config);

  const rowOf = async (userId: string) => {
    const { rows } = await pipelineOf().deps.pool.query<{
      message_id: string;
      masked_ip: string;
      masked_device_id: string;
    }>('SELECT message_id, masked_ip, masked_device_id FROM user_logins WHERE user_id = $1', [userId]);
    assert.equal(rows.length, 1);
    return rows[0]!;
  };
  const auditRows = async () =>
    (
      await pipelineOf().deps.pool.query<Record<string, string>>(
        'SELECT actor, action, field, token, message_id, reason, outcome FROM pii_audit ORDER BY id',
      )
    ).rows;

  it('drains the sample data into rows, with one vault entry per token', async () => {
    const pipeline = pipelineOf();
    await pipeline.send(sample);
    const summary = await pipeline.drain();
    assert.deepEqual([summary.loaded, summary.quarantined], [99, 1]);
    const status = await piiStatus(pipeline.deps.pool);
    assert.deepEqual(status.vaultEntriesByVersion, { v1: 198 });
    assert.equal(status.rootSealedBodies, 0, 'bodies are sealed to the operator key');
    // A body sealed before 0.4.0 names a key of the root's: status counts it until a rotation reseals it.
    const { rows } = await pipeline.deps.pool.query<{ message_id: string; body_key_id: string }>(
      'SELECT message_id, body_key_id FROM quarantined_messages LIMIT 1',
    );
    const [{ message_id: messageId, body_key_id: keyId }] = rows as [(typeof rows)[number]];
    const setKey = (key: string) =>
      pipeline.deps.pool.query('UPDATE quarantined_messages SET body_key_id = $2 WHERE message_id = $1', [
        messageId,
        key,
      ]);
    await setKey('quarantine-body/v1/root');
    assert.equal((await piiStatus(pipeline.deps.pool)).rootSealedBodies, 1);
    await setKey(keyId);
  });

  it('reveals the value behind a token, or a message id, and writes the audit row first', async () => {
    const pipeline = pipelineOf();
    const event = events[0]!;
    const row = await rowOf(event.user_id);
    const [byToken] = await reveal(pipeline.deps.pool, await opening(), { token: row.masked_ip, ...operator });
    assert.deepEqual(byToken, { field: 'ip', token: row.masked_ip, status: 'revealed', value: event.ip });

    const command = await runCommand(
      'src/cli/pii.ts',
      ['reveal', '--message-id', row.message_id, '--field', 'device_id', '--reason', 'fraud review', '--actor', 'bob'],
      pipeline.env,
    );
    assert.equal(command.code, 0, command.stderr);
    assert.equal(command.stdout, `${event.device_id}\n`);
    assert.ok(!command.stderr.includes(event.device_id), 'the value is printed, never logged');

    assert.deepEqual(await auditRows(), [
      {
        actor: 'alice',
        action: 'reveal',
        field: 'ip',
        token: row.masked_ip,
        message_id: null,
        reason: 'support ticket 42',
        outcome: 'revealed',
      },
      {
        actor: 'bob',
        action: 'reveal',
        field: 'device_id',
        token: row.masked_device_id,
        message_id: row.message_id,
        reason: 'fraud review',
        outcome: 'revealed',
      },
    ]);
    await assert.rejects(pipeline.deps.pool.query("UPDATE pii_audit SET reason = 'nothing'"), /append-only/);
    await assert.rejects(pipeline.deps.pool.query('DELETE FROM pii_audit'), /append-only/);
    await assert.rejects(pipeline.deps.pool.query('TRUNCATE pii_audit'), /append-only/);
  });

  it('refuses a reveal without a reason, or with another root key, before anything is audited', async () => {
    const pipeline = pipelineOf();
    const row = await rowOf(events[0]!.user_id);
    const before = (await auditRows()).length;
    const noReason = await runCommand('src/cli/pii.ts', ['reveal', '--token', row.masked_ip], pipeline.env);
    assert.notEqual(noReason.code, 0);
    assert.match(noReason.stderr, /--reason is required/);
    const otherKey = await runCommand('src/cli/pii.ts', ['reveal', '--token', row.masked_ip, '--reason', 'curious'], {
      ...pipeline.env,
      PII_HMAC_KEY: 'another-root-secret-another-root-secret-000',
    });
    assert.notEqual(otherKey.code, 0);
    assert.match(otherKey.stderr, /not the one this database was written with/);
    await assert.rejects(claimKeyState(pipeline.deps.pool, createKeyring(Buffer.alloc(32, 5))), RootKeyMismatchError);
    assert.equal((await auditRows()).length, before);
  });

  it('forgets a value: reveal then says it is gone, the audit row remains, and it is not vaulted again', async () => {
    const pipeline = pipelineOf();
    const event = events[1]!;
    const row = await rowOf(event.user_id);
    const {
      results: [erased],
    } = await forget(pipeline.deps.pool, {
      token: row.masked_device_id,
      actor: 'dpo',
      reason: 'erasure request 7',
    });
    assert.equal(erased!.status, 'erased');
    assert.equal(erased!.field, 'device_id');

    const command = await runCommand(
      'src/cli/pii.ts',
      ['reveal', '--token', row.masked_device_id, '--reason', 'check the erasure'],
      pipeline.env,
    );
    assert.equal(command.code, 1);
    assert.equal(command.stdout, '');
    assert.match(command.stderr, /forgotten on .* cannot be recovered/);
    const audit = await auditRows();
    assert.deepEqual(
      audit.slice(-2).map((a) => [a.action, a.outcome, a.reason]),
      [
        ['forget', 'erased', 'erasure request 7'],
        ['reveal', 'forgotten', 'check the erasure'],
      ],
    );

    // The same device logs in again: its row gets the same token, and the value is not kept again.
    await pipeline.send([loginBody('returning-user', '203.0.113.50', event.device_id)]);
    await pipeline.drain();
    assert.equal((await rowOf('returning-user')).masked_device_id, row.masked_device_id);
    const [again] = await reveal(pipeline.deps.pool, await opening(), { token: row.masked_device_id, ...operator });
    assert.equal(again!.status, 'forgotten');
  });

  it('re-keys a batch masked before a rotation when it loads after it', async () => {
    const pipeline = pipelineOf();
    const activities = createHeldActivities(pipeline.deps);
    const message = {
      messageId: 'masked-before-rotation',
      receiptHandle: 'rh',
      body: loginBody('stale-batch-user', '::ffff:198.51.100.77', 'stale-device'),
      bodyBytes: 100,
      sentTimestamp: Date.now(),
      receiveCount: 1,
    };
    const held = pipeline.deps.held.hold(pipeline.queueUrl, [message], { leaseSeconds: 60, holdSeconds: 60 });
    const masked = await runActivity(activities.maskHeldBatch, held.id);
    const rotated = await rotate(pipeline.deps.pool, await opening(), { actor: 'ops', reason: 'quarterly rotation' });
    assert.equal(rotated.toVersion, masked.keyVersion + 1);
    const loaded = await runActivity(activities.loadHeldBatch, held.id);
    pipeline.deps.held.release(held.id);
    assert.equal(loaded.loaded, 1);
    const row = await rowOf('stale-batch-user');
    const current = pipeline.keyring.keySet(rotated.toVersion);
    assert.equal(row.masked_ip, tokenize(current, 'ip', canonicalIp('198.51.100.77').value));
    const [revealed] = await reveal(pipeline.deps.pool, await opening(), { token: row.masked_ip, ...operator });
    assert.equal(revealed?.status === 'revealed' && revealed.value, '198.51.100.77');
  });

  it('rotates: an old and a new event of one device share a token again, even after an interruption', async () => {
    const pipeline = pipelineOf();
    const event = events[2]!;
    const oldToken = (await rowOf(event.user_id)).masked_device_id;

    let chunks = 0;
    await assert.rejects(
      rotate(pipeline.deps.pool, await opening(), {
        actor: 'ops',
        reason: 'rotation drill',
        chunkSize: 20,
        onChunk: () => {
          if (++chunks === 2) throw new Error('interrupted');
        },
      }),
      /interrupted/,
    );
    const interrupted = await piiStatus(pipeline.deps.pool);
    assert.ok(interrupted.pendingRotation > 0, 'part of the vault is still under the old version');

    // New data arrives while the rotation is unfinished: it is masked with the new version.
    await pipeline.send([loginBody('same-device-later', '192.0.2.200', event.device_id)]);
    await pipeline.drain();

    const resumed = await rotate(pipeline.deps.pool, await opening(), { actor: 'ops', reason: 'rotation drill' });
    assert.equal(resumed.resumed, true);
    assert.equal(resumed.toVersion, interrupted.activeVersion);
    const current = pipeline.keyring.keySet(resumed.toVersion);
    const oldRow = await rowOf(event.user_id);
    const newRow = await rowOf('same-device-later');
    assert.notEqual(oldRow.masked_device_id, oldToken);
    assert.equal(oldRow.masked_device_id, newRow.masked_device_id);
    assert.equal(newRow.masked_device_id, tokenize(current, 'device_id', event.device_id));

    const status = await piiStatus(pipeline.deps.pool);
    assert.equal(status.pendingRotation, 0);
    assert.deepEqual(Object.keys(status.vaultEntriesByVersion), [`v${current.version}`]);
    const { rows } = await pipeline.deps.pool.query<{ body_key_id: string }>(
      'SELECT body_key_id FROM quarantined_messages',
    );
    assert.deepEqual(
      rows.map((r) => r.body_key_id),
      [(await opening()).operator.id],
      'quarantined bodies are sealed to the operator key, which a rotation does not change',
    );
    const [revealed] = await reveal(pipeline.deps.pool, await opening(), {
      token: oldRow.masked_device_id,
      ...operator,
    });
    assert.equal(revealed?.status === 'revealed' && revealed.value, event.device_id);
    // A token from before the rotation (an export, a ticket) still names the value.
    const [byOldToken] = await reveal(pipeline.deps.pool, await opening(), { token: oldToken, ...operator });
    assert.equal(byOldToken?.status === 'revealed' && byOldToken.value, event.device_id);
    assert.equal(byOldToken!.token, oldRow.masked_device_id);

    const cli = await runCommand('src/cli/pii.ts', ['rotate', '--json', '--actor', 'ops'], pipeline.env);
    assert.equal(cli.code, 0, cli.stderr);
    const report = JSON.parse(cli.stdout.trim().split('\n').at(-1)!) as {
      toVersion: number;
      vaultEntries: number;
      resumed: boolean;
    };
    assert.deepEqual([report.toVersion, report.resumed], [current.version + 1, false]);
    assert.equal(
      report.vaultEntries,
      Object.values(status.vaultEntriesByVersion)[0]! + status.erasures,
      'tombstones move too',
    );
  });

  it('forgets by a token from before a rotation, and a forget by message id shreds its quarantined body', async () => {
    const pipeline = pipelineOf();
    const event = events[3]!;
    const v1Token = tokenize(pipeline.keyring.keySet(1), 'ip', canonicalIp(event.ip).value);
    assert.notEqual((await rowOf(event.user_id)).masked_ip, v1Token, 'rotated since');
    const {
      results: [erased],
    } = await forget(
      pipeline.deps.pool,
      { token: v1Token, actor: 'dpo', reason: 'erasure request 9' },
      { aliasKey: pipeline.keyring.tokenAlias },
    );
    assert.deepEqual([erased!.status, erased!.token], ['erased', (await rowOf(event.user_id)).masked_ip]);
    const [gone] = await reveal(pipeline.deps.pool, await opening(), { token: v1Token, ...operator });
    assert.equal(gone!.status, 'forgotten');

    const { rows } = await pipeline.deps.pool.query<{ message_id: string }>(
      'SELECT message_id FROM quarantined_messages WHERE body_sealed IS NOT NULL LIMIT 1',
    );
    const command = await runCommand(
      'src/cli/pii.ts',
      ['forget', '--message-id', rows[0]!.message_id, '--reason', 'erasure request 10'],
      pipeline.env,
    );
    assert.equal(command.code, 0, command.stderr);
    assert.match(command.stdout, /quarantined body: shredded/);
    assert.match(command.stdout, /still elsewhere: .*SQS.*backups/);
    const { rows: shredded } = await pipeline.deps.pool.query<{ body_sealed: Buffer | null }>(
      'SELECT body_sealed FROM quarantined_messages WHERE message_id = $1',
      [rows[0]!.message_id],
    );
    assert.equal(shredded[0]!.body_sealed, null);
  });

  it("forget --scan-quarantine also shreds the value in other messages' quarantined bodies, and only there", async () => {
    const pipeline = pipelineOf();
    const ip = '203.0.113.77';
    await pipeline.send([
      loginBody('scan-valid', ip, '555-77-0001'),
      // Quarantined: no user_id (the value in its field), a body that does not parse, and one without the value.
      JSON.stringify({ app_version: '1.0.0', device_type: 'ios', ip: `::ffff:${ip}`, locale: 'en', device_id: 'd' }),
      `{"user_id": "scan-broken", "ip": "${ip}", `,
      JSON.stringify({ app_version: '1.0.0', device_type: 'ios', ip: '203.0.113.78', locale: 'en', device_id: 'd' }),
    ]);
    await pipeline.drain();
    const sealedBodies = async () =>
      Number(
        (
          await pipeline.deps.pool.query<{ n: number }>(
            'SELECT count(*)::int AS n FROM quarantined_messages WHERE body_sealed IS NOT NULL',
          )
        ).rows[0]!.n,
      );
    const before = await sealedBodies();
    const { masked_ip } = await rowOf('scan-valid');
    const command = await runCommand(
      'src/cli/pii.ts',
      ['forget', '--token', masked_ip, '--scan-quarantine', '--reason', 'erasure request 11', '--json'],
      pipeline.env,
    );
    assert.equal(command.code, 0, command.stderr);
    const report = JSON.parse(command.stdout) as { otherBodiesShredded: number; remainsElsewhere: string };
    assert.equal(report.otherBodiesShredded, 2);
    assert.doesNotMatch(report.remainsElsewhere, /quarantined bodies/);
    assert.match(report.remainsElsewhere, /Temporal histories.*pii_audit/);
    assert.equal(await sealedBodies(), before - 2, 'the body without the value keeps its seal');
  });

  for (const order of ['the load commits first', 'the forget commits before the load runs'] as const) {
    it(`leaves no value in the vault when a forget races a load of the same value (${order})`, async () => {
      const pipeline = pipelineOf();
      const { pool } = pipeline.deps;
      const version = await claimKeyState(pool, pipeline.keyring);
      const value = order === 'the load commits first' ? '198.51.100.201' : '198.51.100.202';
      const message = {
        messageId: `race-${value}`,
        receiptHandle: 'rh',
        body: loginBody(`race-user-${value}`, value, `race-device-${value}`),
        bodyBytes: 100,
        sentTimestamp: Date.now(),
        receiveCount: 1,
      };
      const batchId = randomUUID();
      const batch = transformBatch([message], pipeline.keyring.keySet(version), pipeline.deps.sealTo, batchId);
      const token = tokenize(pipeline.keyring.keySet(version), 'ip', value);
      const load = await pool.connect();
      const blockedOnLock = async (settled: () => boolean) => {
        while (!settled()) {
          const { rows } = await pool.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM pg_stat_activity
              WHERE datname = current_database() AND wait_event_type = 'Lock'`,
          );
          if (rows[0]!.n > 0) return;
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      };
      try {
        await load.query('BEGIN');
        const params = loadParameters(version, pipeline.keyring.rootFingerprint, batchId, {
          rows: batch.rows,
          records: [],
          vault: batch.vault,
        });
        if (order === 'the load commits first') {
          // The load has written the vault row but not committed; the forget waits on it, then erases it.
          await load.query(LOAD_SQL, params);
          const forgetting = forget(pool, { token, field: 'ip', actor: 'dpo', reason: 'race' });
          let settled = false;
          void forgetting.then(
            () => (settled = true),
            () => (settled = true),
          );
          // A forget that does not wait (it saw no row and went ahead) loses the race: the check below fails.
          await blockedOnLock(() => settled);
          await load.query('COMMIT');
          assert.equal((await forgetting).results[0]!.status, 'erased');
        } else {
          // The forget's tombstone is in place while the load's statement runs: it finds the tombstone.
          await forget(pool, { token, field: 'ip', actor: 'dpo', reason: 'race' });
          await load.query(LOAD_SQL, params);
          await load.query('COMMIT');
        }
      } finally {
        load.release();
      }
      const { rows } = await pool.query<{ value_sealed: Buffer | null }>(
        "SELECT value_sealed FROM pii_vault WHERE field = 'ip' AND token = $1",
        [token],
      );
      assert.deepEqual(rows, [{ value_sealed: null }]);
      assert.equal((await rowOf(`race-user-${value}`)).masked_ip, token, 'the row itself is loaded');
    });
  }

  it('lets the analyst role read user_logins but not the vault or the audit trail', async () => {
    const client = await pipelineOf().deps.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('SET LOCAL ROLE login_etl_analyst');
      const { rows } = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM user_logins');
      assert.ok(rows[0]!.n > 0);
      await client.query('SAVEPOINT s');
      await assert.rejects(client.query('SELECT * FROM pii_vault'), /permission denied/);
      await client.query('ROLLBACK TO SAVEPOINT s');
      await assert.rejects(client.query('SELECT * FROM pii_audit'), /permission denied/);
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
  });
});

describe('root rotation', () => {
  const pipelineOf = usePipeline('root');

  it('moves every token and sealed value to a new root, resumably; the old root then matches and opens nothing', async () => {
    const pipeline = pipelineOf();
    const { pool } = pipeline.deps;
    await pipeline.send(sample);
    await pipeline.drain();
    const opening = await loadOpeningKeys(pipeline.config);
    const oldRoot = pipeline.keyring;
    const tokensOf = async () =>
      new Set(
        (
          await pool.query<{ t: string }>(
            'SELECT masked_ip AS t FROM user_logins UNION SELECT masked_device_id FROM user_logins',
          )
        ).rows.map((r) => r.t),
      );
    const oldTokens = await tokensOf();
    const event = events[5]!;
    const oldIpToken = tokenize(oldRoot.keySet(1), 'ip', canonicalIp(event.ip).value);
    const erasedDevice = tokenize(oldRoot.keySet(1), 'device_id', events[6]!.device_id);
    await forget(pool, { token: erasedDevice, field: 'device_id', actor: 'dpo', reason: 'erasure before the move' });

    const newRoot = createKeyring(Buffer.from('a-new-root-secret-after-a-leak-0123456789', 'utf8'));
    let chunks = 0;
    await assert.rejects(
      rotateRoot(pool, opening, newRoot, {
        actor: 'ops',
        reason: 'root leaked',
        chunkSize: 50,
        onChunk: () => {
          if (++chunks === 2) throw new Error('interrupted');
        },
      }),
      /interrupted/,
    );
    await assert.rejects(claimKeyState(pool, oldRoot), RootKeyMismatchError, 'a worker on the old root is refused');
    const resumed = await rotateRoot(pool, opening, newRoot, { actor: 'ops', reason: 'root leaked' });
    assert.equal(resumed.resumed, true);
    assert.equal((await piiStatus(pool)).pendingRotation, 0);

    const newTokens = await tokensOf();
    assert.equal(newTokens.size, oldTokens.size, 'equal values still share one token');
    assert.deepEqual(
      [...newTokens].filter((token) => oldTokens.has(token)),
      [],
      'no row keeps a token of the old root',
    );
    const { rows: sealing } = await pool.query<{ seal_key_id: string | null; value_sealed: Buffer | null }>(
      'SELECT seal_key_id, value_sealed FROM pii_vault',
    );
    assert.ok(sealing.every((row) => row.value_sealed === null || row.seal_key_id === opening.operator.id));

    const moved = { operator: opening.operator, keyring: newRoot };
    const [revealed] = await reveal(pool, moved, { token: oldIpToken, actor: 'alice', reason: 'after the move' });
    assert.equal(revealed?.status === 'revealed' && revealed.value, event.ip);
    assert.equal(revealed!.token, tokenize(newRoot.keySet(resumed.toVersion), 'ip', canonicalIp(event.ip).value));
    const [erased] = await reveal(pool, moved, { token: erasedDevice, actor: 'alice', reason: 'after the move' });
    assert.equal(erased!.status, 'forgotten');
    await assert.rejects(
      reveal(pool, opening, { token: oldIpToken, actor: 'alice', reason: 'old root' }),
      RootKeyMismatchError,
    );
    const { rows: audit } = await pool.query<{ action: string; outcome: string }>(
      "SELECT action, outcome FROM pii_audit WHERE action LIKE 'rotate%' ORDER BY id",
    );
    assert.deepEqual(
      audit.map((row) => [row.action, row.outcome.split(' ')[0]]),
      [
        ['rotate-root', 'activated'],
        ['rotate-root', 'completed'],
      ],
      'the audit trail names the move for what it was, from its start to its end',
    );
  });
  it('leaves the replaced root nothing to follow: a dump holds none of its tokens nor aliases it keyed', async () => {
    const pipeline = pipelineOf();
    const { pool } = pipeline.deps;
    const root = createKeyring(Buffer.from('a-new-root-secret-after-a-leak-0123456789', 'utf8'));
    const opening = { ...(await loadOpeningKeys(pipeline.config)), keyring: root };
    // A plain rotation first, under this root, so that it keyed aliases a replaced root could recompute.
    const rotated = await rotate(pool, opening, { actor: 'ops', reason: 'yearly' });
    const replacedToken = tokenize(root.keySet(rotated.fromVersion), 'ip', canonicalIp(events[5]!.ip).value);
    const [found] = await reveal(pool, opening, { token: replacedToken, actor: 'alice', reason: 'before the move' });
    assert.equal(found!.status, 'revealed', 'a keyed alias resolves under its own root');

    const next = createKeyring(Buffer.from('and-another-root-after-the-second-leak-0123', 'utf8'));
    const moved = await rotateRoot(pool, opening, next, { actor: 'ops', reason: 'root leaked again' });
    assert.ok(moved.droppedAliases > 0, 'aliases only the replaced root keyed are gone');

    // The holder of the replaced root computes every token and alias it could have made for every sample value.
    const computable = new Set<string>();
    for (const event of events) {
      for (let version = 1; version <= rotated.toVersion; version++) {
        for (const token of [
          tokenize(root.keySet(version), 'ip', canonicalIp(event.ip).value),
          tokenize(root.keySet(version), 'device_id', event.device_id),
        ]) {
          computable.add(token);
          computable.add(aliasOf(root.tokenAlias, token));
        }
      }
    }
    const { rows } = await pool.query<{ text: string }>(
      `SELECT row_to_json(t)::text AS text FROM user_logins t UNION ALL SELECT row_to_json(t)::text FROM pii_vault t
       UNION ALL SELECT row_to_json(t)::text FROM pii_token_aliases t`,
    );
    const dump = rows.map((row) => row.text).join('\n');
    assert.deepEqual(
      [...computable].filter((value) => dump.includes(value.replace(/^v\d+:/, ''))),
      [],
      'the dump holds nothing the replaced root computes',
    );
    const nextOpening = { ...opening, keyring: next };
    await assert.rejects(
      reveal(pool, nextOpening, { token: replacedToken, actor: 'alice', reason: 'after' }),
      NotFoundError,
      'a token the replaced root had already replaced no longer resolves',
    );
    const rootToken = tokenize(root.keySet(rotated.toVersion), 'ip', canonicalIp(events[5]!.ip).value);
    const [current] = await reveal(pool, nextOpening, { token: rootToken, actor: 'alice', reason: 'after' });
    assert.equal(current?.status === 'revealed' && current.value, events[5]!.ip, "the replaced root's tokens do");
    assert.equal((await piiStatus(pool)).plainAliases, 0);
  });
});
