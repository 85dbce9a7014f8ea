import type { Pool } from 'pg';

export interface CommittedByBatch {
  loaded: number;
  quarantined: number;
}

/** The rows and quarantine records a batch's load committed, whatever attempt or worker committed them. */
export async function committedByBatch(pool: Pick<Pool, 'query'>, batchId: string): Promise<CommittedByBatch> {
  const { rows } = await pool.query<CommittedByBatch>(
    `SELECT (SELECT count(*) FROM user_logins WHERE batch_id = $1)::int AS loaded,
            (SELECT count(*) FROM quarantined_messages WHERE batch_id = $1)::int AS quarantined`,
    [batchId],
  );
  return rows[0]!;
}
