import type { Pool, PoolClient } from 'pg';
import type { PiiField } from '../core/canonical-pii';
import { versionLabel, type Keyring, type KeySet, type VersionedKey } from '../core/keys';
import { TOKEN_COLUMNS } from '../core/loaded-columns';
import { aliasOf, erasedToken } from '../core/mask';
import { resealQuarantineBody } from '../core/quarantine-record';
import type { QuarantineRecord } from '../core/types';
import { rekeyVaultEntry, vaultSealer, type OpeningKeys, type StoredVaultEntry, type VaultSealer } from '../core/vault';
import { inTransaction } from '../db/in-transaction';
import { appendAudit } from './audit';
import { readKeyState, RootKeyMismatchError } from './key-state';

export interface RotationReport {
  fromVersion: number;
  toVersion: number;
  /** An earlier rotation to the same version was interrupted and this one finished it. */
  resumed: boolean;
  /** Vault entries moved to the new version (erased ones included, as tombstones under a new token). */
  vaultEntries: number;
  /** Of those, values that already had an entry under the new version (new data since the rotation began). */
  merged: number;
  /** Rows whose masked_ip or masked_device_id now holds the new token (one count per field). */
  rowTokens: { ip: number; device_id: number };
  /** Bodies sealed with a root key before 0.4.0, sealed to the operator key now. */
  quarantinedBodies: number;
  /** Aliases keyed by a replaced root, dropped by `rotate-root`: their tokens no longer resolve. */
  droppedAliases: number;
}

export interface RotationOptions {
  actor: string;
  reason: string;
  chunkSize?: number;
  /** Called after each committed chunk (tests interrupt a rotation here). */
  onChunk?: () => void | Promise<void>;
}

class RotationBusyError extends Error {
  override name = 'RotationBusyError';
}

/** Any fixed number: one rotation at a time. */
const ROTATION_LOCK = 0x726f74617465;

/**
 * A new key version for new data, then every vault entry of an older version re-keyed: a value (opened with the
 * operator key) gets its new token, which replaces the old one in user_logins, so old and new events of one value
 * share a token again; an erased value's token gets a new one derived from it (core/mask.ts erasedToken). Each old
 * token becomes an alias of its new one, keyed by the root (core/mask.ts aliasOf), so reveal and forget still take
 * it. Values are sealed to the operator key
 * anew, as are quarantined bodies sealed with a root key (before 0.4.0). Each chunk commits on its own, so an
 * interrupted rotation loses nothing and the next `rotate` finishes it before starting another.
 */
export function rotate(pool: Pool, keys: OpeningKeys, options: RotationOptions): Promise<RotationReport> {
  return underRotationLock(pool, async () => {
    const state = await readKeyState(pool);
    if (state.rootFingerprint !== keys.keyring.rootFingerprint) {
      throw new RootKeyMismatchError(keys.keyring.rootFingerprint, state.rootFingerprint ?? 'none');
    }
    const resumed = (await pendingCount(pool, state.activeVersion)) > 0;
    const to = resumed
      ? state.activeVersion
      : await activateNextVersion(pool, options, { from: keys.keyring, to: keys.keyring });
    return rekeyEverything(pool, keys, keys.keyring, to, resumed, { ...options, action: 'rotate' });
  });
}

/**
 * The same move to a new root: the next version's keys derive from `newRoot`, and the database records its
 * fingerprint, so workers must restart with it (pause the drains first: a load by a worker on the old root is
 * refused). Once done, every token and sealed value is the new root's or the operator key's; the old root opens
 * nothing and matches no token in the rows or the aliases: the old root's tokens become aliases keyed by the new
 * root, and aliases it keyed (tokens of its older versions) are dropped, since only it could follow them. Resumable
 * like `rotate`: run it again with the same two roots.
 */
export function rotateRoot(
  pool: Pool,
  keys: OpeningKeys,
  newRoot: Keyring,
  options: RotationOptions,
): Promise<RotationReport> {
  return underRotationLock(pool, async () => {
    const state = await readKeyState(pool);
    const oldRoot = keys.keyring.rootFingerprint;
    if (newRoot.rootFingerprint === oldRoot) throw new Error('the new root is the root in use');
    let resumed: boolean;
    if (state.rootFingerprint === oldRoot) {
      resumed = false;
    } else if (state.rootFingerprint === newRoot.rootFingerprint && state.previousRootFingerprint === oldRoot) {
      resumed = true;
    } else {
      throw new RootKeyMismatchError(oldRoot, state.rootFingerprint ?? 'none');
    }
    const to = resumed
      ? state.activeVersion
      : await activateNextVersion(pool, options, { from: keys.keyring, to: newRoot });
    return rekeyEverything(pool, keys, newRoot, to, resumed, { ...options, action: 'rotate-root' });
  });
}

async function underRotationLock<T>(pool: Pool, work: () => Promise<T>): Promise<T> {
  const lock = await pool.connect();
  try {
    const { rows } = await lock.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [
      ROTATION_LOCK,
    ]);
    if (!rows[0]!.locked) throw new RotationBusyError('another rotation is running');
    try {
      return await work();
    } finally {
      await lock.query('SELECT pg_advisory_unlock($1)', [ROTATION_LOCK]);
    }
  } finally {
    lock.release();
  }
}

async function rekeyEverything(
  pool: Pool,
  keys: OpeningKeys,
  targetRoot: Keyring,
  targetVersion: number,
  resumed: boolean,
  options: RotationOptions & { action: 'rotate' | 'rotate-root' },
): Promise<RotationReport> {
  const chunkSize = options.chunkSize ?? 500;
  const sealer = vaultSealer(keys.operator.publicKey);
  const target = targetRoot.keySet(targetVersion);
  const aliasKey = targetRoot.tokenAlias;
  const { rowCount: droppedAliases } = await pool.query(
    'DELETE FROM pii_token_aliases WHERE alias_key_id IS NOT NULL AND alias_key_id <> $1',
    [aliasKey.id],
  );
  const report: RotationReport = {
    fromVersion: target.version - 1,
    toVersion: target.version,
    resumed,
    vaultEntries: 0,
    merged: 0,
    rowTokens: { ip: 0, device_id: 0 },
    quarantinedBodies: 0,
    droppedAliases: droppedAliases ?? 0,
  };
  for (;;) {
    const done = await inTransaction(pool, (client) => keyPlainAliasChunk(client, aliasKey, chunkSize));
    if (done === 0) break;
    await options.onChunk?.();
  }
  for (;;) {
    const done = await inTransaction(pool, (client) =>
      rekeyVaultChunk(client, keys, sealer, target, aliasKey, chunkSize, report),
    );
    if (done === 0) break;
    await options.onChunk?.();
  }
  for (;;) {
    const done = await inTransaction(pool, (client) => resealQuarantineChunk(client, keys, sealer, chunkSize));
    if (done === 0) break;
    report.quarantinedBodies += done;
    await options.onChunk?.();
  }
  await inTransaction(pool, (client) =>
    appendAudit(client, {
      actor: options.actor,
      action: options.action,
      reason: options.reason,
      outcome:
        `completed v${target.version}: ${report.vaultEntries} vault entries (${report.merged} merged), ` +
        `${report.rowTokens.ip + report.rowTokens.device_id} row tokens, ${report.quarantinedBodies} quarantined bodies, ` +
        `${report.droppedAliases} aliases of a replaced root dropped`,
    }),
  );
  return report;
}

/**
 * Quarantined bodies sealed with a root key (before 0.4.0): what a rotation seals to the operator key. The version
 * label is built here, not with || in SQL, and functions are schema-qualified: on Postgres 14 and older anyone may
 * create operators and functions in public, and one that matches the argument types more closely than
 * pg_catalog's would run as the operator.
 */
export const ROOT_SEALED_BODIES = `body_key_id IS NOT NULL AND NOT pg_catalog.starts_with(body_key_id, 'operator/')`;

/** Vault entries (values and tombstones) and root-sealed quarantined bodies still under an older version. */
export async function pendingCount(pool: Pick<Pool, 'query'>, activeVersion: number): Promise<number> {
  const { rows } = await pool.query<{ pending: number }>(
    `SELECT (SELECT count(*) FROM pii_vault WHERE key_version < $2)
          + (SELECT count(*) FROM quarantined_messages
              WHERE ${ROOT_SEALED_BODIES} AND pg_catalog.split_part(body_key_id, '/', 2) <> $1)
            AS pending`,
    [versionLabel(activeVersion), activeVersion],
  );
  return Number(rows[0]!.pending);
}

/**
 * Waits for the loads under way (they hold the key state shared), after which every load uses the new version
 * (and, moving to a new root, only workers holding it may load).
 */
async function activateNextVersion(
  pool: Pool,
  options: RotationOptions,
  roots: { from: Keyring; to: Keyring },
): Promise<number> {
  const newRoot = roots.to.rootFingerprint !== roots.from.rootFingerprint;
  return inTransaction(pool, async (client) => {
    const { rows } = await client.query<{ active_version: number }>(
      `UPDATE pii_key_state SET active_version = active_version + 1, updated_at = now(),
              root_fingerprint = $1, previous_root_fingerprint = $2
        RETURNING active_version`,
      [roots.to.rootFingerprint, roots.from.rootFingerprint],
    );
    const version = rows[0]!.active_version;
    await appendAudit(client, {
      actor: options.actor,
      action: newRoot ? 'rotate-root' : 'rotate',
      reason: options.reason,
      outcome: newRoot
        ? `activated v${version} under root ${roots.to.rootFingerprint} (was ${roots.from.rootFingerprint})`
        : `activated v${version}`,
    });
    return version;
  });
}

interface VaultRow {
  field: PiiField;
  token: string;
  key_version: number;
  value_sealed: Buffer | null;
  seal_key_id: string | null;
  forgotten_at: Date | null;
  forget_audit_id: string | null;
}

async function rekeyVaultChunk(
  client: PoolClient,
  keys: OpeningKeys,
  sealer: VaultSealer,
  target: KeySet,
  aliasKey: VersionedKey,
  chunkSize: number,
  report: RotationReport,
): Promise<number> {
  const { rows } = await client.query<VaultRow>(
    `SELECT field, token, key_version, value_sealed, seal_key_id, forgotten_at, forget_audit_id FROM pii_vault
      WHERE key_version < $1 ORDER BY key_version, field, token LIMIT $2 FOR UPDATE SKIP LOCKED`,
    [target.version, chunkSize],
  );
  if (rows.length === 0) return 0;
  const moved = rows.map((row) => {
    if (row.value_sealed === null) {
      return { ...row, token: erasedToken(target, row.field, row.token), key_version: target.version };
    }
    const entry: StoredVaultEntry = { ...row, value_sealed: row.value_sealed.toString('base64') };
    const rekeyed = rekeyVaultEntry(keys, sealer, entry, target);
    return { ...row, ...rekeyed, value_sealed: Buffer.from(rekeyed.value_sealed, 'base64') };
  });
  const inserted = await client.query(
    `INSERT INTO pii_vault (field, token, key_version, value_sealed, seal_key_id, forgotten_at, forget_audit_id)
     SELECT * FROM unnest($1::text[], $2::varchar[], $3::integer[], $4::bytea[], $5::text[], $6::timestamptz[],
                          $7::bigint[])
     ON CONFLICT (field, token) DO NOTHING`,
    [
      moved.map((e) => e.field),
      moved.map((e) => e.token),
      moved.map((e) => e.key_version),
      moved.map((e) => e.value_sealed),
      moved.map((e) => e.seal_key_id),
      moved.map((e) => e.forgotten_at),
      moved.map((e) => e.forget_audit_id),
    ],
  );
  // Tokens that pointed at the old ones now point at the new ones, and the old ones become aliases too.
  const fields = rows.map((e) => e.field);
  const newTokens = moved.map((e) => e.token);
  await client.query(
    `UPDATE pii_token_aliases a SET current_token = m.new_token
       FROM unnest($1::text[], $2::varchar[], $3::varchar[]) AS m(field, old_token, new_token)
      WHERE a.field = m.field AND a.current_token = m.old_token`,
    [fields, rows.map((e) => e.token), newTokens],
  );
  await client.query(
    `INSERT INTO pii_token_aliases (field, token, current_token, alias_key_id)
     SELECT *, $4 FROM unnest($1::text[], $2::varchar[], $3::varchar[])
     ON CONFLICT (field, token) DO UPDATE SET current_token = EXCLUDED.current_token`,
    [fields, rows.map((e) => aliasOf(aliasKey, e.token)), newTokens, aliasKey.id],
  );
  for (const field of ['ip', 'device_id'] as const) {
    const pairs = rows.flatMap((entry, i) => (entry.field === field ? [[entry.token, moved[i]!.token]] : []));
    if (pairs.length === 0) continue;
    const column = TOKEN_COLUMNS[field];
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
    [rows.map((e) => e.field), rows.map((e) => e.token)],
  );
  report.vaultEntries += rows.length;
  report.merged += rows.length - (inserted.rowCount ?? 0);
  return rows.length;
}

/** Aliases written before 1.0 (migration 008) hold the plain old token: keyed now, so only this root follows them. */
async function keyPlainAliasChunk(client: PoolClient, aliasKey: VersionedKey, chunkSize: number): Promise<number> {
  const { rows } = await client.query<{ field: string; token: string }>(
    `SELECT field, token FROM pii_token_aliases WHERE alias_key_id IS NULL
      ORDER BY field, token LIMIT $1 FOR UPDATE SKIP LOCKED`,
    [chunkSize],
  );
  if (rows.length === 0) return 0;
  await client.query(
    `UPDATE pii_token_aliases a SET token = k.keyed, alias_key_id = $4
       FROM unnest($1::text[], $2::varchar[], $3::varchar[]) AS k(field, plain, keyed)
      WHERE a.field = k.field AND a.token = k.plain`,
    [rows.map((r) => r.field), rows.map((r) => r.token), rows.map((r) => aliasOf(aliasKey, r.token)), aliasKey.id],
  );
  return rows.length;
}

async function resealQuarantineChunk(client: PoolClient, keys: OpeningKeys, sealer: VaultSealer, chunkSize: number) {
  const { rows } = await client.query<Pick<QuarantineRecord, 'message_id' | 'body_key_id'> & { body_sealed: Buffer }>(
    `SELECT message_id, body_sealed, body_key_id FROM quarantined_messages WHERE ${ROOT_SEALED_BODIES}
      ORDER BY message_id LIMIT $1 FOR UPDATE SKIP LOCKED`,
    [chunkSize],
  );
  if (rows.length === 0) return 0;
  const resealed = rows.map((row) =>
    resealQuarantineBody(keys, { ...row, body_sealed: row.body_sealed.toString('base64') }, sealer),
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
