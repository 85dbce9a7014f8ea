import type { Pool } from 'pg';

/** Which of these messages have a row or a quarantine record committed: one query for a whole batch. */
export async function committedMessages(pool: Pick<Pool, 'query'>, messageIds: string[]): Promise<Set<string>> {
  const { rows } = await pool.query<{ message_id: string }>(
    `SELECT message_id FROM user_logins WHERE message_id = ANY($1::text[])
     UNION ALL
     SELECT message_id FROM quarantined_messages WHERE message_id = ANY($1::text[])`,
    [messageIds],
  );
  return new Set(rows.map((row) => row.message_id));
}
