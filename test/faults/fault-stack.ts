import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, createWriteStream, mkdirSync, readFileSync, type WriteStream } from 'node:fs';
import path from 'node:path';
import { Client as PgClient } from 'pg';
import { localDatabaseUrl, PROJECT_ROOT } from '../../src/config';
import { createLogger, type Logger } from '../../src/log';
import { WORKER_NODE_FLAGS } from '../../src/temporal/worker-node-flags';
import { startEmbeddedPostgres, type RunningPostgres } from '../../src/stack/embedded-postgres';
import { freePorts } from '../../src/stack/readiness';
import { startSqsEmulator, type RunningSqsEmulator } from '../../src/stack/sqs-emulator';
import { findTemporalCli } from '../../src/stack/temporal-cli';
import { startTemporalServer, type RunningTemporalServer } from '../../src/stack/temporal-server';
import { TcpProxy } from '../../tools/tcp-proxy';

/** A component the suite can stop and start again on its own data, as a crash or a deploy would. */
export interface Restartable {
  restart(downMs?: number): Promise<void>;
}

/**
 * The local stack with handles for faults: Postgres and the SQS emulator behind TCP proxies (the pipeline only
 * knows the proxies), and every server restartable on its own data (SQLite file, data directory, state file).
 */
export class FaultStack {
  private pg!: RunningPostgres;
  private sqs!: RunningSqsEmulator;
  private temporal!: RunningTemporalServer;
  readonly pgProxy: TcpProxy;
  readonly sqsProxy: TcpProxy;

  private constructor(
    readonly dataDir: string,
    readonly ports: { temporal: number; temporalUi: number; sqs: number; postgres: number },
    proxyPorts: { sqs: number; postgres: number },
    readonly log: Logger,
  ) {
    this.pgProxy = new TcpProxy(proxyPorts.postgres, { host: '127.0.0.1', port: ports.postgres });
    this.sqsProxy = new TcpProxy(proxyPorts.sqs, { host: '127.0.0.1', port: ports.sqs });
  }

  static async start(dataDir: string, log: Logger): Promise<FaultStack> {
    mkdirSync(dataDir, { recursive: true });
    // Run as root, the embedded Postgres runs as the postgres user, who must be able to reach its data directory.
    chmodSync(dataDir, 0o755);
    const { sqsProxy, postgresProxy, ...ports } = await freePorts(
      'temporal',
      'temporalUi',
      'sqs',
      'postgres',
      'sqsProxy',
      'postgresProxy',
    );
    const stack = new FaultStack(dataDir, ports, { sqs: sqsProxy, postgres: postgresProxy }, log);
    try {
      await Promise.all([stack.startPostgres(), stack.startSqs(), stack.startTemporal()]);
      await stack.pgProxy.listen();
      await stack.sqsProxy.listen();
    } catch (error) {
      await stack.stop();
      throw error;
    }
    return stack;
  }

  /** What the pipeline is given: the proxies, never the servers themselves. */
  get temporalAddress(): string {
    return this.temporal.address;
  }
  get sqsEndpoint(): string {
    return `http://localhost:${this.sqsProxy.port}`;
  }
  /** The servers themselves, for the suite's own setup and checks (not subject to the faults). */
  get directSqsEndpoint(): string {
    return this.sqs.endpoint;
  }
  databaseUrl(database: string, direct = false): string {
    return localDatabaseUrl(direct ? this.ports.postgres : this.pgProxy.port, database);
  }

  async createDatabase(name: string): Promise<void> {
    const admin = new PgClient({ connectionString: this.databaseUrl('postgres', true) });
    await admin.connect();
    try {
      await admin.query(`CREATE DATABASE "${name}"`);
    } finally {
      await admin.end();
    }
  }

  /** Stops a server, waits `downMs`, and starts it again on its own data. */
  private restartable(server: () => { stop(): Promise<void> }, start: () => Promise<void>): Restartable {
    return {
      restart: async (downMs = 0) => {
        await server().stop();
        await sleep(downMs);
        await start();
      },
    };
  }

  readonly postgres = this.restartable(
    () => this.pg,
    () => this.startPostgres(),
  );
  readonly sqsEmulator = this.restartable(
    () => this.sqs,
    () => this.startSqs(),
  );
  readonly temporalServer = this.restartable(
    () => this.temporal,
    () => this.startTemporal(),
  );

  async stop(): Promise<void> {
    await this.pgProxy.close();
    await this.sqsProxy.close();
    // Started in parallel, any of them may be missing when the start failed.
    const servers: ({ stop(): Promise<void> } | undefined)[] = [this.temporal, this.sqs, this.pg];
    for (const server of servers) await server?.stop().catch(() => undefined);
  }

  private async startPostgres() {
    this.pg = await startEmbeddedPostgres({
      port: this.ports.postgres,
      dataDir: path.join(this.dataDir, 'postgres'),
      log: createLogger('postgres'),
    });
  }

  private async startSqs() {
    this.sqs = await startSqsEmulator({
      port: this.ports.sqs,
      log: createLogger('sqs'),
      stateFile: path.join(this.dataDir, 'sqs-state.json'),
    });
  }

  private async startTemporal() {
    this.temporal = await startTemporalServer({
      cli: findTemporalCli(process.env.TEMPORAL_CLI),
      port: this.ports.temporal,
      uiPort: this.ports.temporalUi,
      dbFile: path.join(this.dataDir, 'temporal.db'),
      log: createLogger('temporal'),
    });
  }
}

/** Workers as separate processes (`src/worker.ts`, as `npm run worker` runs it), their output kept in one file. */
export class WorkerProcesses {
  private readonly running = new Set<ChildProcess>();
  private readonly signalled = new WeakSet<ChildProcess>();
  private readonly output: WriteStream;
  started = 0;
  /** How each worker that has ended ended: an exit code, or the signal that ended it. */
  readonly exits: (number | NodeJS.Signals)[] = [];
  /** Workers that ended without being told to (a crash, running out of memory): how they ended. */
  readonly unexpectedExits: (number | NodeJS.Signals)[] = [];
  /** The highest peak RSS of a worker, read from /proc before it was stopped (MB). */
  peakRssMb = 0;

  constructor(
    private readonly env: NodeJS.ProcessEnv,
    readonly logFile: string,
  ) {
    this.output = createWriteStream(logFile, { flags: 'a' });
  }

  start(): ChildProcess {
    const child = spawn(
      process.execPath,
      [...WORKER_NODE_FLAGS, '--import', 'tsx', path.join(PROJECT_ROOT, 'src/worker.ts')],
      {
        env: this.env,
        cwd: PROJECT_ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    child.stdout.pipe(this.output, { end: false });
    child.stderr.pipe(this.output, { end: false });
    this.running.add(child);
    this.started++;
    child.once('exit', (code, signal) => {
      this.running.delete(child);
      this.exits.push(code ?? signal ?? 0);
      if (!this.signalled.has(child)) this.unexpectedExits.push(code ?? signal ?? 0);
    });
    return child;
  }

  /** Notes a worker's peak RSS and that it was told to stop. */
  private tell(child: ChildProcess, signal: NodeJS.Signals): Promise<number> {
    this.signalled.add(child);
    const peak = /VmHWM:\s+(\d+) kB/.exec(readProc(child.pid));
    this.peakRssMb = Math.max(this.peakRssMb, Math.round(Number(peak?.[1] ?? 0) / 1024));
    return signalAndWait(child, signal);
  }

  get count(): number {
    return this.running.size;
  }

  /** Sends `signal` to one running worker and resolves when it has exited, with the milliseconds that took. */
  signalOne(signal: NodeJS.Signals): Promise<number> {
    const [child] = this.running;
    if (!child) throw new Error('no worker is running');
    return this.tell(child, signal);
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.running].map((child) => this.tell(child, 'SIGTERM')));
    await new Promise<void>((resolve) => this.output.end(resolve));
  }
}

async function signalAndWait(child: ChildProcess, signal: NodeJS.Signals): Promise<number> {
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const sent = Date.now();
  child.kill(signal);
  await exited;
  return Date.now() - sent;
}

function readProc(pid: number | undefined): string {
  try {
    return readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return '';
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
