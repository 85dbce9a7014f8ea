import { Pool } from 'pg';
import type { Config } from '../config';

/**
 * Bounds on every wait of a query, so a connection that goes silent (a failover, a dropped route: packets lost,
 * no reset) fails the attempt instead of hanging it while Temporal starts new ones on new connections.
 */
const POOL_TIMEOUTS = {
  /** Waiting for a free client or a new connection. */
  connectionTimeoutMillis: 10_000,
  /** The server ends a statement that runs longer (a load of 10,000 rows takes well under a second). */
  statement_timeout: 60_000,
  /** The client gives up on an answer that does not come, when the server cannot even say so. */
  query_timeout: 65_000,
  /** The server ends a transaction left open by a client that went away. */
  idle_in_transaction_session_timeout: 60_000,
  /** TCP keepalive probes after this much silence, so a dead peer is noticed by the kernel. */
  keepAliveInitialDelayMillis: 10_000,
} as const;

export function createPool(config: Pick<Config, 'databaseUrl'>, max = 10): Pool {
  const pool = new Pool({ connectionString: config.databaseUrl, max, keepAlive: true, ...POOL_TIMEOUTS });
  // An idle client losing its connection (a database restart) must not crash the process; the next query reconnects.
  pool.on('error', () => undefined);
  return pool;
}
