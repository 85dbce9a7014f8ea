import type { PoolClient } from 'pg';
import { PII_FIELDS, type PiiField } from '../core/canonical-pii';
import type { VersionedKey } from '../core/keys';
import { aliasOf } from '../core/mask';
import { openVerifiedVaultEntry, VaultMismatchError, type OpeningKeys } from '../core/vault';

/** A token to act on (the current one, when a rotation replaced the token asked for), and the message it was found through, if any. */
export interface TokenRef {
  field: PiiField;
  token: string;
  /** The token asked for, when a rotation has since replaced it with `token`. */
  asked?: string;
  messageId?: string;
}

export type TokenSelector = { token: string; field?: PiiField } | { messageId: string; field?: PiiField };

export class NotFoundError extends Error {
  override name = 'NotFoundError';
}

/**
 * The tokens a selector names: a token (in the fields given, or in whichever holds it), or a message's row. A token
 * from before a rotation resolves to the token that replaced it, given the alias key of the root in use (aliases are
 * keyed by it: core/mask.ts aliasOf); without it, only current tokens and message ids resolve.
 */
export async function resolveTokens(
  client: PoolClient,
  selector: TokenSelector,
  aliasKey?: VersionedKey,
): Promise<TokenRef[]> {
  const fields = selector.field ? [selector.field] : PII_FIELDS;
  if ('messageId' in selector) {
    const { rows } = await client.query<{ masked_ip: string; masked_device_id: string }>(
      'SELECT masked_ip, masked_device_id FROM user_logins WHERE message_id = $1',
      [selector.messageId],
    );
    if (rows.length === 0) throw new NotFoundError(`no row has message_id ${selector.messageId}`);
    return fields.map((field) => ({
      field,
      token: field === 'ip' ? rows[0]!.masked_ip : rows[0]!.masked_device_id,
      messageId: selector.messageId,
    }));
  }
  // Each field has its own token key, so a token is found in one field at most.
  const { rows } = await client.query<{ field: PiiField; token: string }>(
    `SELECT field, token FROM pii_vault WHERE token = $1 AND field = ANY($2)
     UNION SELECT field, current_token FROM pii_token_aliases
      WHERE field = ANY($2) AND (alias_key_id IS NULL AND token = $1 OR alias_key_id = $3 AND token = $4)`,
    [selector.token, fields, aliasKey?.id ?? null, aliasKey ? aliasOf(aliasKey, selector.token) : null],
  );
  if (rows.length === 0) {
    if (selector.field) return [{ field: selector.field, token: selector.token }];
    throw new NotFoundError(
      `no vault entry has that token (give --field to be sure${aliasKey ? '' : '; a token a rotation replaced resolves only with the PII root set'})`,
    );
  }
  return rows.map(({ field, token }) => ({
    field,
    token,
    ...(token === selector.token ? {} : { asked: selector.token }),
  }));
}

export interface VaultLookup {
  /** The sealed value, unless erased. */
  entry?: { key_version: number; value_sealed: Buffer; seal_key_id: string | null };
  erasure?: { forgotten_at: Date };
}

/**
 * The value of an entry `lookUpVault` found, opened with the operator key and checked against its token; undefined
 * when it does not give its token (planted or corrupted: core/vault.ts VaultMismatchError).
 */
export function openLookedUp(keys: OpeningKeys, ref: TokenRef, entry: NonNullable<VaultLookup['entry']>) {
  try {
    return openVerifiedVaultEntry(keys, { ...ref, ...entry, value_sealed: entry.value_sealed.toString('base64') });
  } catch (error) {
    if (error instanceof VaultMismatchError) return undefined;
    throw error;
  }
}

export async function lookUpVault(client: PoolClient, ref: TokenRef): Promise<VaultLookup> {
  const { rows } = await client.query<{
    key_version: number;
    value_sealed: Buffer | null;
    seal_key_id: string | null;
    forgotten_at: Date | null;
  }>(
    `SELECT key_version, value_sealed, seal_key_id, forgotten_at FROM pii_vault WHERE field = $1 AND token = $2 FOR SHARE`,
    [ref.field, ref.token],
  );
  const row = rows[0];
  if (!row) return {};
  if (row.value_sealed === null) return { erasure: { forgotten_at: row.forgotten_at! } };
  return { entry: { key_version: row.key_version, value_sealed: row.value_sealed, seal_key_id: row.seal_key_id } };
}
