import { Pool } from 'pg';
import type { Config } from '../config';

export function createPool(config: Pick<Config, 'databaseUrl'>, max = 10): Pool {
  const pool = new Pool({ connectionString: config.databaseUrl, max, connectionTimeoutMillis: 10_000 });
  // An idle client losing its connection (a database restart) must not crash the process; the next query reconnects.
  pool.on('error', () => undefined);
  return pool;
}
