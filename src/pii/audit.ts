import type { PoolClient } from 'pg';
import type { PiiField } from '../core/canonical-pii';

export interface AuditRecord {
  actor: string;
  action: 'reveal' | 'forget' | 'rotate';
  field?: PiiField;
  token?: string;
  messageId?: string;
  reason: string;
  outcome: string;
}

/** Appends one row to pii_audit (a trigger refuses any change to it later); its id. */
export async function appendAudit(client: PoolClient, record: AuditRecord): Promise<number> {
  const { rows } = await client.query<{ id: string }>(
    `INSERT INTO pii_audit (actor, action, field, token, message_id, reason, outcome)
     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
    [
      record.actor,
      record.action,
      record.field ?? null,
      record.token ?? null,
      record.messageId ?? null,
      record.reason,
      record.outcome,
    ],
  );
  return Number(rows[0]!.id);
}

/** Runs `work` in one transaction on a client of its own. */
export async function inTransaction<T>(
  pool: { connect(): Promise<PoolClient> },
  work: (client: PoolClient) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}
