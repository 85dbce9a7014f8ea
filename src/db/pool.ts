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

/**
 * Names resolve in pg_catalog (implicitly first), then public, and nowhere else; tables are created in public. The
 * default path starts with a schema named after the login role ("$user"), where whoever may create schemas could put
 * an `=` on varchar that wins over pg_catalog's (which has none) inside the load. Migration 008 keeps public the
 * owner's.
 */
const PINNED_SEARCH_PATH = '-c search_path=public';

export function createPool(config: Pick<Config, 'databaseUrl'>, max = 10): Pool {
  const pool = new Pool({
    connectionString: config.databaseUrl,
    max,
    keepAlive: true,
    options: PINNED_SEARCH_PATH,
    ...POOL_TIMEOUTS,
  });
  // An idle client losing its connection (a database restart) must not crash the process; the next query reconnects.
  pool.on('error', () => undefined);
  return pool;
}
