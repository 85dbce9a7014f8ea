import type { Pool, PoolClient } from 'pg';
import type { PiiField } from '../core/canonical-pii';
import type { VersionedKey } from '../core/keys';
import { bodyHoldsValue, openQuarantineBody } from '../core/quarantine-record';
import type { OpeningKeys } from '../core/vault';
import { tokenVersion } from '../core/mask';
import { inTransaction } from '../db/in-transaction';
import { appendAudit } from './audit';
import { lookUpVault, NotFoundError, openLookedUp, resolveTokens, type TokenRef, type TokenSelector } from './lookup';

/** `unknown`: no value was kept for the token; the tombstone now keeps any from being kept. */
type ForgetStatus = 'erased' | 'already forgotten' | 'unknown';

type ForgetResult = TokenRef & { status: ForgetStatus; auditId: number };

export interface ForgetReport {
  results: ForgetResult[];
  /** The message's quarantined body was shredded too (forget by message id). */
  quarantinedBodyShredded: boolean;
  /** Other messages' quarantined bodies that held a forgotten value, shredded; undefined when not looked for. */
  otherBodiesShredded?: number;
}

export interface ForgetOptions {
  /** Follows a token a rotation replaced to its current one (the root's `tokenAlias`). */
  aliasKey?: VersionedKey;
  /**
   * The operator's keys: the values are opened before they are erased, and every other quarantined body that holds
   * one is shredded too.
   */
  scanQuarantine?: OpeningKeys;
}

/**
 * Crypto-shredding: the sealed value is replaced by a tombstone in its own vault row, so no key can recover it and
 * no load can put it back (a load inserts ON CONFLICT DO NOTHING on the same row; one racing the forget either
 * committed first, and is erased, or finds the tombstone). The masked rows keep their token, so duplicates stay
 * countable. Forgetting by message id also shreds that message's quarantined body, if it has one.
 */
export async function forget(
  pool: Pool,
  request: TokenSelector & { actor: string; reason: string },
  options: ForgetOptions = {},
): Promise<ForgetReport> {
  const keys = options.scanQuarantine;
  return inTransaction(pool, async (client) => {
    const results: ForgetResult[] = [];
    const values: { field: PiiField; value: string }[] = [];
    for (const ref of await resolveOrQuarantined(client, request, options.aliasKey)) {
      if (keys) {
        const value = await openedValue(client, keys, ref);
        if (value !== undefined) values.push({ field: ref.field, value });
      }
      const status = await tombstone(client, ref);
      const auditId = await appendAudit(client, {
        ...ref,
        actor: request.actor,
        action: 'forget',
        reason: request.reason,
        outcome: status,
      });
      await client.query(
        'UPDATE pii_vault SET forget_audit_id = $3 WHERE field = $1 AND token = $2 AND forget_audit_id IS NULL',
        [ref.field, ref.token, auditId],
      );
      results.push({ ...ref, status, auditId });
    }
    const quarantinedBodyShredded = 'messageId' in request && (await shredQuarantinedBody(client, request.messageId));
    if (!keys) return { results, quarantinedBodyShredded };
    const otherBodiesShredded = await shredBodiesHolding(client, keys, values);
    if (otherBodiesShredded > 0) {
      await appendAudit(client, {
        actor: request.actor,
        action: 'forget',
        reason: request.reason,
        outcome: `shredded ${otherBodiesShredded} other quarantined bodies holding the value`,
      });
    }
    return { results, quarantinedBodyShredded, otherBodiesShredded };
  });
}

/** The value behind a token, opened before it is erased; none for a tombstone, an unknown or a planted entry. */
async function openedValue(client: PoolClient, keys: OpeningKeys, ref: TokenRef): Promise<string | undefined> {
  const { entry } = await lookUpVault(client, ref);
  return entry && openLookedUp(keys, ref, entry);
}

const SCAN_CHUNK = 500;

/** Opens every sealed quarantined body, in chunks, and shreds those that hold one of the values. */
async function shredBodiesHolding(
  client: PoolClient,
  keys: OpeningKeys,
  values: { field: PiiField; value: string }[],
): Promise<number> {
  if (values.length === 0) return 0;
  let shredded = 0;
  let after = '';
  for (;;) {
    const { rows } = await client.query<{ message_id: string; body_sealed: Buffer; body_key_id: string }>(
      `SELECT message_id, body_sealed, body_key_id FROM quarantined_messages
        WHERE body_sealed IS NOT NULL AND message_id > $1 ORDER BY message_id LIMIT $2 FOR UPDATE`,
      [after, SCAN_CHUNK],
    );
    if (rows.length === 0) return shredded;
    after = rows.at(-1)!.message_id;
    const holding = rows
      .filter((row) => {
        const body = openQuarantineBody(keys, { ...row, body_sealed: row.body_sealed.toString('base64') });
        return body !== null && bodyHoldsValue(body, values);
      })
      .map((row) => row.message_id);
    if (holding.length === 0) continue;
    const { rowCount } = await client.query(
      'UPDATE quarantined_messages SET body_sealed = NULL, body_key_id = NULL WHERE message_id = ANY($1::varchar[])',
      [holding],
    );
    shredded += rowCount ?? 0;
  }
}

/** A message that was only quarantined has no tokens, only a body to shred. */
async function resolveOrQuarantined(
  client: PoolClient,
  request: TokenSelector,
  aliasKey: VersionedKey | undefined,
): Promise<TokenRef[]> {
  try {
    return await resolveTokens(client, request, aliasKey);
  } catch (error) {
    if (!(error instanceof NotFoundError) || !('messageId' in request)) throw error;
    const { rowCount } = await client.query('SELECT FROM quarantined_messages WHERE message_id = $1', [
      request.messageId,
    ]);
    if (!rowCount) throw new NotFoundError(`no row or quarantine record has message_id ${request.messageId}`);
    return [];
  }
}

/** The row becomes a tombstone, whatever it was; what it was, told by whether this statement inserted or erased it. */
async function tombstone(client: PoolClient, ref: TokenRef): Promise<ForgetStatus> {
  const { rows } = await client.query<{ inserted: boolean; erased_now: boolean }>(
    `INSERT INTO pii_vault (field, token, key_version, value_sealed, forgotten_at)
     VALUES ($1, $2, $3, NULL, now())
     ON CONFLICT (field, token) DO UPDATE
       SET value_sealed = NULL, seal_key_id = NULL, forgotten_at = coalesce(pii_vault.forgotten_at, now())
     RETURNING xmax = 0 AS inserted, forgotten_at = now() AS erased_now`,
    [ref.field, ref.token, tokenVersion(ref.token) ?? 1],
  );
  const { inserted, erased_now } = rows[0]!;
  return inserted ? 'unknown' : erased_now ? 'erased' : 'already forgotten';
}

async function shredQuarantinedBody(client: PoolClient, messageId: string): Promise<boolean> {
  const { rowCount } = await client.query(
    `UPDATE quarantined_messages SET body_sealed = NULL, body_key_id = NULL
      WHERE message_id = $1 AND body_sealed IS NOT NULL`,
    [messageId],
  );
  return (rowCount ?? 0) > 0;
}
