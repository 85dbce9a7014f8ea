import type { PoolClient } from 'pg';
import { PII_FIELDS, type PiiField } from '../core/canonical-pii';

/** A token to act on, and the message it was found through, if any. */
export interface TokenRef {
  field: PiiField;
  token: string;
  messageId?: string;
}

export type TokenSelector = { token: string; field?: PiiField } | { messageId: string; field?: PiiField };

export class NotFoundError extends Error {
  override name = 'NotFoundError';
}

/** The tokens a selector names: a token (in the fields given, or in whichever holds it), or a message's row. */
export async function resolveTokens(client: PoolClient, selector: TokenSelector): Promise<TokenRef[]> {
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
  if (selector.field) return [{ field: selector.field, token: selector.token }];
  // Each field has its own token key, so a token is found in one field at most.
  const { rows } = await client.query<{ field: PiiField }>(
    `SELECT field FROM pii_vault WHERE token = $1
     UNION SELECT field FROM pii_erasures WHERE token = $1`,
    [selector.token],
  );
  if (rows.length === 0) throw new NotFoundError(`no vault entry or erasure has that token (give --field to be sure)`);
  return rows.map(({ field }) => ({ field, token: selector.token }));
}

export interface VaultLookup {
  entry?: { key_version: number; value_sealed: Buffer };
  erasure?: { forgotten_at: Date; audit_id: string };
}

export async function lookUpVault(client: PoolClient, ref: TokenRef, lock: 'SHARE' | 'UPDATE'): Promise<VaultLookup> {
  const entry = await client.query<{ key_version: number; value_sealed: Buffer }>(
    `SELECT key_version, value_sealed FROM pii_vault WHERE field = $1 AND token = $2 FOR ${lock}`,
    [ref.field, ref.token],
  );
  const erasure = await client.query<{ forgotten_at: Date; audit_id: string }>(
    'SELECT forgotten_at, audit_id FROM pii_erasures WHERE field = $1 AND token = $2',
    [ref.field, ref.token],
  );
  return { entry: entry.rows[0], erasure: erasure.rows[0] };
}
