import type { PoolClient } from 'pg';

/** Runs `work` in one transaction on a client the caller holds: committed when it returns, rolled back when it throws. */
export async function withinTransaction<T>(client: PoolClient, work: (client: PoolClient) => Promise<T>): Promise<T> {
  await client.query('BEGIN');
  try {
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

/** Runs `work` in one transaction on a client of its own. */
export async function inTransaction<T>(
  pool: { connect(): Promise<PoolClient> },
  work: (client: PoolClient) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  try {
    return await withinTransaction(client, work);
  } finally {
    client.release();
  }
}
