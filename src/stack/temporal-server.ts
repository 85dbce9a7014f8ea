import { Connection } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Logger } from '../log';
import { startManagedProcess } from './managed-process';
import { waitUntil } from './readiness';
import type { TemporalCli } from './temporal-cli';

export interface TemporalServerOptions {
  cli: TemporalCli;
  port: number;
  uiPort: number;
  /** SQLite file, so workflow runs survive a restart of the server. */
  dbFile: string;
  log: Logger;
  /** Extra `server start-dev` flags, e.g. --ui-codec-endpoint. */
  extraArgs?: string[];
}

export interface RunningTemporalServer {
  address: string;
  uiUrl: string;
  stop(): Promise<void>;
}

export async function startTemporalServer(options: TemporalServerOptions): Promise<RunningTemporalServer> {
  const address = `127.0.0.1:${options.port}`;
  const uiUrl = `http://localhost:${options.uiPort}`;
  const args = [
    '--ip',
    '127.0.0.1',
    '--port',
    String(options.port),
    '--ui-port',
    String(options.uiPort),
    '--db-filename',
    options.dbFile,
  ];
  const extraArgs = [
    // The machine may have no internet: the UI must not fetch its news feed.
    '--ui-disable-news-fetch',
    // WAL, and an fsync per checkpoint rather than per transaction: safe when the server crashes, about 10% faster.
    '--sqlite-pragma',
    'journal_mode=wal',
    '--sqlite-pragma',
    'synchronous=normal',
    ...(options.extraArgs ?? []),
  ];
  if (options.cli.source === 'SDK download') {
    options.log.warn(
      'no Temporal CLI found (TEMPORAL_CLI, PATH, project venv): the SDK downloads one, which needs internet',
    );
    const env = await TestWorkflowEnvironment.createLocal({
      server: { port: options.port, ui: true, uiPort: options.uiPort, dbFilename: options.dbFile, extraArgs },
    });
    return { address, uiUrl, stop: () => env.teardown() };
  }
  for (let attempt = 1; ; attempt++) {
    let portTaken = false;
    const server = startManagedProcess(
      options.cli.path,
      ['server', 'start-dev', '--log-level', 'warn', ...args, ...extraArgs],
      {
        log: options.log,
        // The banner and errors; its warnings are mostly its own workers reconnecting while it stops.
        filterLine: (line) => {
          if (line.includes('address already in use')) portTaken = true;
          return !line.startsWith('time=') || line.includes('level=ERROR');
        },
      },
    );
    try {
      await waitUntil('Temporal dev server', () => isServing(address), { abort: server.exited, timeoutMs: 90_000 });
      return { address, uiUrl, stop: () => server.stop() };
    } catch (error) {
      await server.stop();
      // The dev server picks its HTTP API and metrics ports itself, free when picked but not always when bound
      // (another process's outgoing connection can take one in between): a new start picks new ones.
      if (!portTaken || attempt === START_ATTEMPTS) throw error;
      options.log.warn('a port was taken while the dev server started: starting it again');
    }
  }
}

/** Starts tried when a port the dev server binds turns out to be taken. */
const START_ATTEMPTS = 3;

async function isServing(address: string): Promise<boolean> {
  const connection = await Connection.connect({ address, connectTimeout: 1_000 });
  try {
    await connection.workflowService.getSystemInfo({});
    return true;
  } finally {
    await connection.close();
  }
}
