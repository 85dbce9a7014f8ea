import type { Pool } from 'pg';
import { inTransaction } from '../db/in-transaction';
import { appendAudit } from './audit';
import { lookUpVault, resolveTokens, type TokenRef, type TokenSelector } from './lookup';

export type ForgetResult = TokenRef & { status: 'erased' | 'already forgotten' | 'unknown'; auditId: number };

/**
 * Crypto-shredding: the sealed value is deleted, so no key can recover it any more, and a tombstone keeps the
 * same token from being vaulted again. The masked rows keep their token, so duplicates stay countable.
 */
export async function forget(
  pool: Pool,
  request: TokenSelector & { actor: string; reason: string },
): Promise<ForgetResult[]> {
  return inTransaction(pool, async (client) => {
    const results: ForgetResult[] = [];
    for (const ref of await resolveTokens(client, request)) {
      const { entry, erasure } = await lookUpVault(client, ref, 'UPDATE');
      const status = entry ? 'erased' : erasure ? 'already forgotten' : 'unknown';
      const auditId = await appendAudit(client, {
        ...ref,
        actor: request.actor,
        action: 'forget',
        reason: request.reason,
        outcome: status,
      });
      if (entry) {
        await client.query('DELETE FROM pii_vault WHERE field = $1 AND token = $2', [ref.field, ref.token]);
        await client.query(
          'INSERT INTO pii_erasures (field, token, audit_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING',
          [ref.field, ref.token, auditId],
        );
      }
      results.push({ ...ref, status, auditId });
    }
    return results;
  });
}
