import type { PoolClient } from 'pg';
import type { PiiField } from '../core/canonical-pii';

export interface AuditRecord {
  actor: string;
  action: 'reveal' | 'forget' | 'rotate' | 'rotate-root' | 'retention';
  field?: PiiField;
  token?: string;
  messageId?: string;
  reason: string;
  outcome: string;
}

/**
 * Appends one row to pii_audit through pii_append_audit, which records the session's database role (the caller
 * cannot write the table itself; a trigger refuses any change to it later); its id.
 */
export async function appendAudit(client: PoolClient, record: AuditRecord): Promise<number> {
  const { rows } = await client.query<{ id: string }>('SELECT pii_append_audit($1, $2, $3, $4, $5, $6, $7) AS id', [
    record.actor,
    record.action,
    record.field ?? null,
    record.token ?? null,
    record.messageId ?? null,
    record.reason,
    record.outcome,
  ]);
  return Number(rows[0]!.id);
}
