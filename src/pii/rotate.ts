import type { Pool, PoolClient } from 'pg';
import type { PiiField } from '../core/canonical-pii';
import { versionLabel, type Keyring, type KeySet } from '../core/keys';
import { resealQuarantineBody } from '../core/quarantine-record';
import type { QuarantineRecord } from '../core/types';
import { rekeyVaultEntry, type VaultEntry } from '../core/vault';
import { inTransaction } from '../db/in-transaction';
import { appendAudit } from './audit';
import { assertSameRoot, readKeyState } from './key-state';

export interface RotationReport {
  fromVersion: number;
  toVersion: number;
  /** An earlier rotation to the same version was interrupted and this one finished it. */
  resumed: boolean;
  /** Vault entries moved to the new version. */
  vaultEntries: number;
  /** Of those, values that already had an entry under the new version (new data since the rotation began). */
  merged: number;
  /** Rows whose masked_ip or masked_device_id now holds the new token (one count per field). */
  rowTokens: { ip: number; device_id: number };
  quarantinedBodies: number;
}

export interface RotationOptions {
  actor: string;
  reason: string;
  chunkSize?: number;
  /** Called after each committed chunk (tests interrupt a rotation here). */
  onChunk?: () => void | Promise<void>;
}

export class RotationBusyError extends Error {
  override name = 'RotationBusyError';
}

/** Any fixed number: one rotation at a time. */
const ROTATION_LOCK = 0x726f74617465;

/**
 * A new key version for new data, then every vault entry of an older version re-keyed from its value: the new
 * token replaces the old one in user_logins, so old and new events of one value share a token again, and the
 * value is sealed under the new vault key. Quarantined bodies are sealed anew. Each chunk commits on its own, so
 * an interrupted rotation loses nothing and the next `rotate` finishes it before starting another.
 */
export async function rotate(pool: Pool, keyring: Keyring, options: RotationOptions): Promise<RotationReport> {
  const chunkSize = options.chunkSize ?? 500;
  const lock = await pool.connect();
  try {
    const { rows } = await lock.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [
      ROTATION_LOCK,
    ]);
    if (!rows[0]!.locked) throw new RotationBusyError('another rotation is running');
    try {
      const state = await readKeyState(pool);
      assertSameRoot(state, keyring);
      const resumed = (await pendingCount(pool, state.activeVersion)) > 0;
      const to = resumed ? state.activeVersion : await activateNextVersion(pool, options);
      const target = keyring.keySet(to);
      const report: RotationReport = {
        fromVersion: resumed ? to - 1 : state.activeVersion,
        toVersion: to,
        resumed,
        vaultEntries: 0,
        merged: 0,
        rowTokens: { ip: 0, device_id: 0 },
        quarantinedBodies: 0,
      };
      for (;;) {
        const done = await inTransaction(pool, (client) => rekeyVaultChunk(client, keyring, target, chunkSize, report));
        if (done === 0) break;
        await options.onChunk?.();
      }
      for (;;) {
        const done = await inTransaction(pool, (client) => resealQuarantineChunk(client, keyring, target, chunkSize));
        if (done === 0) break;
        report.quarantinedBodies += done;
        await options.onChunk?.();
      }
      await inTransaction(pool, (client) =>
        appendAudit(client, {
          actor: options.actor,
          action: 'rotate',
          reason: options.reason,
          outcome:
            `completed v${to}: ${report.vaultEntries} vault entries (${report.merged} merged), ` +
            `${report.rowTokens.ip + report.rowTokens.device_id} row tokens, ${report.quarantinedBodies} quarantined bodies`,
        }),
      );
      return report;
    } finally {
      await lock.query('SELECT pg_advisory_unlock($1)', [ROTATION_LOCK]);
    }
  } finally {
    lock.release();
  }
}

/** Vault entries and quarantined bodies still under a version older than the active one. */
export async function pendingCount(pool: Pick<Pool, 'query'>, activeVersion: number): Promise<number> {
  const { rows } = await pool.query<{ pending: number }>(
    `SELECT (SELECT count(*) FROM pii_vault WHERE key_version < $1)
          + (SELECT count(*) FROM quarantined_messages
              WHERE body_key_id IS NOT NULL AND pg_catalog.split_part(body_key_id, '/', 2) <> $2)
            AS pending`,
    [activeVersion, versionLabel(activeVersion)],
  );
  return Number(rows[0]!.pending);
}

/** Waits for the loads under way (they hold the key state shared), after which every load uses the new version. */
async function activateNextVersion(pool: Pool, options: RotationOptions): Promise<number> {
  return inTransaction(pool, async (client) => {
    const { rows } = await client.query<{ active_version: number }>(
      'UPDATE pii_key_state SET active_version = active_version + 1, updated_at = now() RETURNING active_version',
    );
    const version = rows[0]!.active_version;
    await appendAudit(client, {
      actor: options.actor,
      action: 'rotate',
      reason: options.reason,
      outcome: `activated v${version}`,
    });
    return version;
  });
}

async function rekeyVaultChunk(
  client: PoolClient,
  keyring: Keyring,
  target: KeySet,
  chunkSize: number,
  report: RotationReport,
): Promise<number> {
  const { rows } = await client.query<{ field: PiiField; token: string; key_version: number; value_sealed: Buffer }>(
    `SELECT field, token, key_version, value_sealed FROM pii_vault WHERE key_version < $1
     ORDER BY key_version, field, token LIMIT $2 FOR UPDATE SKIP LOCKED`,
    [target.version, chunkSize],
  );
  if (rows.length === 0) return 0;
  const old: VaultEntry[] = rows.map((row) => ({ ...row, value_sealed: row.value_sealed.toString('base64') }));
  const rekeyed = old.map((entry) => rekeyVaultEntry(keyring, entry, target));
  const inserted = await client.query(
    `INSERT INTO pii_vault (field, token, key_version, value_sealed)
     SELECT * FROM unnest($1::text[], $2::varchar[], $3::integer[], $4::bytea[])
     ON CONFLICT (field, token) DO NOTHING`,
    [
      rekeyed.map((e) => e.field),
      rekeyed.map((e) => e.token),
      rekeyed.map((e) => e.key_version),
      rekeyed.map((e) => Buffer.from(e.value_sealed, 'base64')),
    ],
  );
  for (const field of ['ip', 'device_id'] as const) {
    const pairs = old.flatMap((entry, i) => (entry.field === field ? [[entry.token, rekeyed[i]!.token]] : []));
    if (pairs.length === 0) continue;
    const column = field === 'ip' ? 'masked_ip' : 'masked_device_id';
    const updated = await client.query(
      `UPDATE user_logins u SET ${column} = m.new_token
         FROM unnest($1::varchar[], $2::varchar[]) AS m(old_token, new_token) WHERE u.${column} = m.old_token`,
      [pairs.map(([from]) => from), pairs.map(([, to]) => to)],
    );
    report.rowTokens[field] += updated.rowCount ?? 0;
  }
  await client.query(
    `DELETE FROM pii_vault v USING unnest($1::text[], $2::varchar[]) AS d(field, token)
      WHERE v.field = d.field AND v.token = d.token`,
    [old.map((e) => e.field), old.map((e) => e.token)],
  );
  report.vaultEntries += old.length;
  report.merged += old.length - (inserted.rowCount ?? 0);
  return old.length;
}

async function resealQuarantineChunk(client: PoolClient, keyring: Keyring, target: KeySet, chunkSize: number) {
  const { rows } = await client.query<Pick<QuarantineRecord, 'message_id' | 'body_key_id'> & { body_sealed: Buffer }>(
    `SELECT message_id, body_sealed, body_key_id FROM quarantined_messages
      WHERE body_key_id IS NOT NULL AND pg_catalog.split_part(body_key_id, '/', 2) <> $1
      ORDER BY message_id LIMIT $2 FOR UPDATE SKIP LOCKED`,
    // The version label is built here, not with || in SQL: on Postgres 14 and older anyone may create operators in
    // public, and one that matches the argument types more closely than pg_catalog's would run as the operator.
    [versionLabel(target.version), chunkSize],
  );
  if (rows.length === 0) return 0;
  const resealed = rows.map((row) =>
    resealQuarantineBody(keyring, { ...row, body_sealed: row.body_sealed.toString('base64') }, target),
  );
  // Only sealed bodies were selected, and resealing keeps them sealed.
  const sealedBodies = resealed.map((r) => Buffer.from(r.body_sealed, 'base64'));
  await client.query(
    `UPDATE quarantined_messages q SET body_sealed = r.body_sealed, body_key_id = r.body_key_id
       FROM unnest($1::varchar[], $2::bytea[], $3::text[]) AS r(message_id, body_sealed, body_key_id)
      WHERE q.message_id = r.message_id`,
    [resealed.map((r) => r.message_id), sealedBodies, resealed.map((r) => r.body_key_id)],
  );
  return rows.length;
}
