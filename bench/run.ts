/**
 * `npm run bench`: drains the same synthetic queue content (about 2% malformed) four ways on the local stack,
 * one after the other, and compares them: the SQS emulator alone (ceiling), the pipeline's activities in plain
 * loops (direct), the real Temporal workflow with a worker (temporal), and the known solutions' loop (naive).
 * Prints a markdown table; writes it, a chart (SVG) and the raw numbers under bench/results/; with --json the
 * last line on stdout is {"ceiling":{"msgsPerSec":…},"direct":{…},"temporal":{…},"naive":{…}}.
 *
 *   npm run bench -- [--messages N] [--concurrency N] [--batch-size N] [--modes a,b] [--max-batch-bytes N] [--eager-activities]
 *                    [--sqs-latency-ms L] [--pg-latency-ms L] [--sqs-model overloaded] [--drains N] [--workers N]
 *                    [--body-bytes N] [--max-messages-per-second R] [--json]
 *   With a latency, every mode reaches the SQS emulator (or Postgres) through a proxy that delays each request by
 *   L ms: SQS 20 and Postgres 1 are about what a worker sees in the same AWS region. With --sqs-model overloaded,
 *   every mode reaches SQS through a model of an overloaded server (tools/overloaded-sqs.ts: one request at
 *   a time, each slower the more messages are queued, few connections, some 500s); the queue is filled directly.
 *   `temporal` runs --drains drains of the queue on --workers worker processes; --body-bytes pads each valid body
 *   to about N bytes; --max-messages-per-second caps the measured drain (the cap's accuracy: msg/s against R).
 *   npm run bench -- --memory N     the worker's RSS over a continuous drain of N messages (a curve)
 *   npm run bench -- --load-layouts N   the load's speed on the heap before and after the query indexes, and on
 *                                       the monthly partitions (bench/load-layouts.ts)
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { tsToMs } from '@temporalio/common/lib/time';
import { temporal } from '@temporalio/proto';
import { Client as PgClient } from 'pg';
import { loadConfig, PROJECT_ROOT, type Config } from '../src/config';
import { createKeyring } from '../src/core/keys';
import { seededRandom, syntheticBodies } from '../src/core/synthetic-events';
import { migrate } from '../src/db/migrate';
import { createPool } from '../src/db/pool';
import { runDrain, taskQueuePollers } from '../src/drain';
import { WORKER_NODE_FLAGS } from '../src/temporal/worker-node-flags';
import type { drainQueue } from '../src/workflows';
import { DEFAULT_DRAIN_OPTIONS } from '../src/workflows/drain-options';
import { createLogger } from '../src/log';
import { sendBodies } from '../src/seed-messages';
import { createSqsClient, ensureQueues } from '../src/sqs';
import { startScratchStack, type LocalStack } from '../src/stack/local-stack';
import { freePort, waitUntil } from '../src/stack/readiness';
import { connectClient } from '../src/temporal/connect-client';
import { OverloadedSqs, type OverloadStats } from '../tools/overloaded-sqs';
import { TcpProxy } from '../tools/tcp-proxy';
import { historyEvents } from '../tools/history';
import { writeMarkdown } from '../tools/write-markdown';
import { layoutsTable, loadLayoutsRun } from './load-layouts';
import { eventsPerRun, memoryChart, sampleMemory } from './memory';
import type { ModeRun } from './modes';

const log = createLogger('bench');
const ROOT_SECRET = 'b24195fb07c37aadbba95d706eafd264b795f385ad00316f166a34c239e9a7b2';
const MODES = ['ceiling', 'direct', 'temporal', 'naive'] as const;
type Mode = (typeof MODES)[number];
const EventType = temporal.api.enums.v1.EventType;

interface ModeResult {
  msgsPerSec: number;
  messages: number;
  seconds: number;
  p50BatchMs: number;
  p99BatchMs: number;
  peakRssMb: number;
  cpuSeconds: number;
  historyEventsPer1000?: number;
  /**
   * Where a batch's time goes, medians over the drain's batches (ms): per step, waiting in its task queue and
   * running; and `decide`, from one step's completion to the next one's scheduling (the workflow task).
   */
  stepsP50Ms?: Record<string, { wait: number; run: number; decide: number }>;
  /** Temporal history bytes (events as stored, payloads included) per message drained. */
  historyBytesPerMessage?: number;
  /** Billable Temporal Cloud actions per 1,000 messages, counted from the history (see `billableActions`). */
  actionsPer1000?: number;
  /** At Temporal Cloud's list price of $25 per million actions. */
  dollarsPerMillionMessages?: number;
  /** What the overloaded SQS model served this mode (with --sqs-model overloaded). */
  sqsModel?: OverloadStats;
}

/** Temporal Cloud's list price per action. */
const DOLLARS_PER_ACTION = 25 / 1_000_000;

interface Settings {
  messages: number;
  concurrency: number;
  batchSize: number;
  maxBatchBytes: number;
  eagerActivities: boolean;
  sqsLatencyMs: number;
  pgLatencyMs: number;
  sqsModel?: 'overloaded';
  drains: number;
  workers: number;
  bodyBytes: number;
  /** The drain's cap (0: none), to see how closely the temporal mode keeps to it. */
  maxMessagesPerSecond: number;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      messages: { type: 'string', default: '20000' },
      // The drain's own defaults, so the bench measures what a user gets.
      concurrency: { type: 'string', default: String(DEFAULT_DRAIN_OPTIONS.concurrency) },
      'batch-size': { type: 'string', default: String(DEFAULT_DRAIN_OPTIONS.batchSize) },
      modes: { type: 'string', default: MODES.join(',') },
      json: { type: 'boolean' },
      'max-batch-bytes': { type: 'string', default: String(DEFAULT_DRAIN_OPTIONS.maxBatchBytes) },
      'eager-activities': { type: 'boolean' },
      memory: { type: 'string' },
      'load-layouts': { type: 'string' },
      'sqs-latency-ms': { type: 'string', default: '0' },
      'pg-latency-ms': { type: 'string', default: '0' },
      'sqs-model': { type: 'string' },
      drains: { type: 'string', default: '1' },
      workers: { type: 'string', default: '1' },
      'body-bytes': { type: 'string', default: '0' },
      'max-messages-per-second': { type: 'string', default: String(DEFAULT_DRAIN_OPTIONS.maxMessagesPerSecond) },
    },
  });
  const settings: Settings = {
    messages: Number(values.messages),
    concurrency: Number(values.concurrency),
    batchSize: Number(values['batch-size']),
    maxBatchBytes: Number(values['max-batch-bytes']),
    eagerActivities: values['eager-activities'] ?? false,
    sqsLatencyMs: Number(values['sqs-latency-ms']),
    pgLatencyMs: Number(values['pg-latency-ms']),
    sqsModel: values['sqs-model'] === undefined ? undefined : sqsModelOption(values['sqs-model']),
    drains: Number(values.drains),
    workers: Number(values.workers),
    bodyBytes: Number(values['body-bytes']),
    maxMessagesPerSecond: Number(values['max-messages-per-second']),
  };
  const modes = values.modes.split(',').map((m) => m.trim()) as Mode[];
  for (const mode of modes)
    if (!MODES.includes(mode)) throw new Error(`unknown mode ${mode}; modes: ${MODES.join(', ')}`);

  const keyring = createKeyring(Buffer.from(ROOT_SECRET, 'utf8'));
  log.info(
    `starting the stack; ${settings.messages} messages per mode, ${settings.concurrency} batches of ${settings.batchSize} in flight`,
  );
  const stack = await withNetwork(await startScratchStack({ name: 'bench', keyring }), settings);
  if (values['load-layouts']) {
    try {
      const layouts = await loadLayoutsRun(stack.databaseUrl, Number(values['load-layouts']));
      await writeResults({ settings, machine: machine(), layouts }, layoutsTable(layouts, machine()));
      if (values.json) process.stdout.write(`${JSON.stringify(layouts)}\n`);
    } finally {
      await stack.stop();
    }
    return;
  }
  if (values.memory) {
    try {
      await memoryRun(stack, await prepare(stack, 'temporal'), settings, Number(values.memory));
    } finally {
      await stack.stop();
    }
    return;
  }
  const random = seededRandom(7);
  const bodies = [...syntheticBodies(settings.messages, { seed: 1, malformedShare: 0.02 })].map((body) =>
    padBody(body, settings.bodyBytes, random),
  );
  const results: Partial<Record<Mode, ModeResult>> = {};
  try {
    for (const mode of modes) {
      const config = await prepare(stack, mode);
      log.info(`${mode}: sending ${bodies.length} messages`);
      if (mode !== 'temporal') await send(stack, config, bodies);
      const served = servedFrom(stack);
      results[mode] =
        mode === 'temporal'
          ? await runTemporal(stack, config, settings, bodies)
          : { ...(await runInProcess(mode, config, settings)), sqsModel: served() };
      log.info(`${mode}: ${results[mode].msgsPerSec} msg/s`);
    }
  } finally {
    await stack.stop();
  }

  await writeResults(
    { settings, machine: machine(), results },
    formatTable(results, settings),
    chart(results, settings),
  );
  if (values.json) process.stdout.write(`${JSON.stringify(results)}\n`);
}

/** Prints the table and keeps it, the raw numbers and a chart, if any, under bench/results/. */
async function writeResults(raw: object, table: string, svg?: string): Promise<void> {
  process.stdout.write(`\n${table}\n`);
  const stamp = new Date().toISOString().slice(0, 19).replace(/[:T]/g, '-');
  const dir = path.join(PROJECT_ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  await writeMarkdown(path.join(dir, `${stamp}.md`), `${table}\n`);
  if (svg !== undefined) writeFileSync(path.join(dir, `${stamp}.svg`), svg);
  writeFileSync(path.join(dir, `${stamp}.json`), `${JSON.stringify(raw, null, 2)}\n`);
  process.stderr.write(`results: bench/results/${stamp}.{md,${svg === undefined ? '' : 'svg,'}json}\n`);
}

/**
 * A valid event grows to about `bytes` with a field the pipeline ignores, of seeded random characters (repeated
 * ones would compress to nothing in the payload codec); anything else stays as it is.
 */
function padBody(body: string, bytes: number, random = seededRandom(bytes)): string {
  if (body.length >= bytes || !body.startsWith('{"')) return body;
  const padding = Array.from({ length: bytes - body.length - 14 }, () => PAD_CHARS[Math.floor(random() * 64)]).join('');
  return `{"padding":"${padding}",${body.slice(1)}`;
}
const PAD_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

const sqsModelOption = (value: string): 'overloaded' => {
  if (value !== 'overloaded') throw new Error(`--sqs-model must be overloaded, not ${value}`);
  return value;
};

/** What the SQS model serves from now until the function returned is called (undefined without a model). */
const servedFrom = (bench: BenchStack): (() => OverloadStats | undefined) => {
  const before = bench.sqsModel && structuredClone(bench.sqsModel.stats);
  return () => bench.sqsModel && before && difference(bench.sqsModel.stats, before);
};

const difference = (after: OverloadStats, before: OverloadStats): OverloadStats => ({
  requests: after.requests - before.requests,
  byOperation: Object.fromEntries(
    Object.entries(after.byOperation)
      .map(([operation, count]): [string, number] => [operation, count - (before.byOperation[operation] ?? 0)])
      .filter(([, count]) => count > 0),
  ),
  refusedConnections: after.refusedConnections - before.refusedConnections,
  serverErrors: after.serverErrors - before.serverErrors,
  messagesReceived: after.messagesReceived - before.messagesReceived,
  busyMs: after.busyMs - before.busyMs,
});

/**
 * The stack as the modes reach it: with a latency set, SQS and Postgres through proxies that add it; with an SQS
 * model, SQS through it. The servers themselves stay on localhost, so `prepare` creates databases and `send`
 * fills queues directly.
 */
interface BenchStack {
  stack: LocalStack;
  /** Where the modes reach SQS and Postgres: the servers, or the proxies in front of them. */
  sqsEndpoint: string;
  databaseUrl: string;
  sqsModel?: OverloadedSqs;
  stop(): Promise<void>;
}

async function withNetwork(stack: LocalStack, settings: Settings): Promise<BenchStack> {
  const proxies: { close(): Promise<void> }[] = [];
  const proxied = async (url: URL, latencyMs: number): Promise<URL> => {
    if (latencyMs === 0) return url;
    const proxy = new TcpProxy(await freePort(), { host: url.hostname, port: Number(url.port) }, latencyMs);
    await proxy.listen();
    proxies.push(proxy);
    return Object.assign(new URL(url), { port: String(proxy.port) });
  };
  let sqsUrl = await proxied(new URL(stack.sqsEndpoint), settings.sqsLatencyMs);
  let sqsModel: OverloadedSqs | undefined;
  if (settings.sqsModel) {
    sqsModel = new OverloadedSqs(await freePort(), { host: sqsUrl.hostname, port: Number(sqsUrl.port) });
    await sqsModel.listen();
    proxies.push(sqsModel);
    sqsUrl = Object.assign(new URL(sqsUrl), { port: String(sqsModel.port) });
  }
  return {
    stack,
    sqsEndpoint: sqsUrl.origin,
    databaseUrl: (await proxied(new URL(stack.databaseUrl), settings.pgLatencyMs)).toString(),
    sqsModel,
    async stop() {
      for (const proxy of proxies) await proxy.close();
      await stack.stop();
    },
  };
}

/** A fresh queue and database for one mode, migrated, so the mode's clock measures the drain alone. */
async function prepare(bench: BenchStack, mode: Mode): Promise<Config> {
  const name = `bench_${mode}_${Date.now()}`;
  const admin = new PgClient({ connectionString: bench.stack.databaseUrl.replace(/\/[^/]+$/, '/postgres') });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}"`);
  await admin.end();
  const config = loadConfig({
    ...process.env,
    TEMPORAL_ADDRESS: bench.stack.temporalAddress,
    SQS_ENDPOINT: bench.sqsEndpoint,
    SQS_QUEUE_NAME: name.replace(/_/g, '-'),
    TEMPORAL_TASK_QUEUE: name,
    DATABASE_URL: bench.databaseUrl.replace(/\/[^/]+$/, `/${name}`),
    PII_HMAC_KEY: ROOT_SECRET,
    LOGIN_ETL_DEV_KEYS: 'true',
    LOG_LEVEL: 'warn',
  });
  const pool = createPool(config, 1);
  await migrate(pool).finally(() => pool.end());
  const sqs = directSqs(bench, config);
  await ensureQueues(sqs, config.SQS_QUEUE_NAME).finally(() => sqs.destroy());
  return config;
}

/** The SQS emulator itself, past any proxy: filling a queue is not what a mode measures. */
const directSqs = (bench: BenchStack, config: Config) =>
  createSqsClient({ sqsEndpoint: bench.stack.sqsEndpoint, AWS_REGION: config.AWS_REGION });

async function send(bench: BenchStack, config: Config, bodies: string[]): Promise<void> {
  const sqs = directSqs(bench, config);
  try {
    const { queueUrl } = await ensureQueues(sqs, config.SQS_QUEUE_NAME);
    await sendBodies(sqs, queueUrl, bodies);
  } finally {
    sqs.destroy();
  }
}

const envOf = (config: Config): NodeJS.ProcessEnv => ({
  ...process.env,
  TEMPORAL_ADDRESS: config.TEMPORAL_ADDRESS,
  SQS_ENDPOINT: config.SQS_ENDPOINT,
  SQS_QUEUE_NAME: config.SQS_QUEUE_NAME,
  TEMPORAL_TASK_QUEUE: config.TEMPORAL_TASK_QUEUE,
  DATABASE_URL: config.databaseUrl,
  PII_HMAC_KEY: ROOT_SECRET,
  LOGIN_ETL_DEV_KEYS: 'true',
  LOG_LEVEL: 'warn',
  // Metrics on, as in production, on a port nothing else uses.
  METRICS_ADDRESS: process.env.BENCH_METRICS ?? '127.0.0.1:0',
});

/** The worker's own flags, and any more from BENCH_WORKER_FLAGS (e.g. `--cpu-prof` to profile it). */
const workerFlags = () => [...WORKER_NODE_FLAGS, ...(process.env.BENCH_WORKER_FLAGS ?? '').split(' ').filter(Boolean)];

const nodeWithTsx = (script: string, args: string[], env: NodeJS.ProcessEnv, flags: string[] = []) =>
  spawn(process.execPath, [...flags, '--import', 'tsx', path.join(PROJECT_ROOT, script), ...args], {
    env,
    cwd: PROJECT_ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });

async function runInProcess(mode: Mode, config: Config, settings: Settings): Promise<ModeResult> {
  const child = nodeWithTsx(
    'bench/mode-main.ts',
    [mode, String(settings.concurrency), String(settings.batchSize), String(settings.maxBatchBytes)],
    envOf(config),
  );
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`${mode} failed (exit ${code})`);
  const run = JSON.parse(output.trim().split('\n').at(-1)!) as ModeRun & { cpuSeconds: number; peakRssMb: number };
  return summarize(run, run.cpuSeconds, run.peakRssMb);
}

/**
 * The real thing: a worker process (as `npm run worker` runs it) and the workflow drain. The worker is warmed up
 * on 1,000 messages first; its CPU time counts from the measured drain on, its peak RSS over its whole life.
 */
async function runTemporal(
  bench: BenchStack,
  config: Config,
  settings: Settings,
  bodies: string[],
): Promise<ModeResult> {
  const workers = Array.from({ length: settings.workers }, () => {
    const worker = nodeWithTsx('src/worker.ts', [], envOf(config), workerFlags());
    worker.stdout.resume();
    return worker;
  });
  const client = await connectClient(config, createKeyring(Buffer.from(ROOT_SECRET, 'utf8')));
  try {
    await waitUntil(
      'bench workers',
      async () => (await taskQueuePollers(client, config, 'activity')).size >= settings.workers,
      { timeoutMs: 60_000 },
    );
    const options = {
      concurrency: settings.concurrency,
      batchSize: settings.batchSize,
      maxBatchBytes: settings.maxBatchBytes,
      eagerActivities: settings.eagerActivities,
      emptyGraceSeconds: 1,
    };
    const measured = { ...options, maxMessagesPerSecond: settings.maxMessagesPerSecond };
    const drainAll = (name: string, drainOptions = options) =>
      Promise.all(
        Array.from({ length: settings.drains }, (_, index) =>
          runDrain(client, config, {
            workflowId: `${config.TEMPORAL_TASK_QUEUE}-${name}-${index + 1}`,
            options: drainOptions,
          }),
        ),
      );
    // On a slow SQS model a smaller warm-up: it only has to start the worker's code paths.
    await send(bench, config, [...syntheticBodies(settings.sqsModel ? 100 : 1_000, { seed: 2, malformedShare: 0.02 })]);
    await drainAll('warm-up');
    await send(bench, config, bodies);
    const served = servedFrom(bench);
    const cpuBefore = workers.map((worker) => procCpuSeconds(worker.pid!));
    const drains = await drainAll('measured', measured);
    const cpuSeconds = workers.reduce((sum, worker, index) => sum + procCpuSeconds(worker.pid!) - cpuBefore[index]!, 0);
    const peakRssMb = Math.max(...workers.map((worker) => procPeakRssMb(worker.pid!)));
    const timings = await batchTimings(
      client,
      drains.map((drain) => drain.workflowId),
    );
    const perMessage = (total: number) => total / timings.run.messages;
    return {
      ...summarize(timings.run, cpuSeconds, peakRssMb),
      historyEventsPer1000: Math.round(perMessage(timings.events) * 1000),
      stepsP50Ms: timings.stepsP50Ms,
      historyBytesPerMessage: Math.round(perMessage(timings.bytes) * 10) / 10,
      actionsPer1000: Math.round(perMessage(timings.actions) * 1000 * 10) / 10,
      dollarsPerMillionMessages: Math.round(perMessage(timings.actions) * 1_000_000 * DOLLARS_PER_ACTION * 100) / 100,
      sqsModel: served(),
    };
  } finally {
    await client.connection.close();
    await Promise.all(
      workers.map((worker) => {
        const exited = new Promise((resolve) => worker.once('exit', resolve));
        worker.kill('SIGTERM');
        return exited;
      }),
    );
  }
}

/** A worker and a `--continuous` drain over `total` messages; writes the RSS curve and the history per run. */
async function memoryRun(bench: BenchStack, config: Config, settings: Settings, total: number): Promise<void> {
  log.info(`memory: sending ${total} messages`);
  await send(bench, config, [...syntheticBodies(total, { seed: 3, malformedShare: 0.02 })]);
  const worker = nodeWithTsx('src/worker.ts', [], envOf(config), workerFlags());
  worker.stdout.resume();
  const client = await connectClient(config, createKeyring(Buffer.from(ROOT_SECRET, 'utf8')));
  const pool = createPool(config, 1);
  const workflowId = `${config.TEMPORAL_TASK_QUEUE}-continuous`;
  try {
    await waitUntil('bench worker', async () => (await taskQueuePollers(client, config)).size > 0, {
      timeoutMs: 60_000,
    });
    const drain = runDrain(client, config, {
      workflowId,
      options: {
        mode: 'continuous',
        concurrency: settings.concurrency,
        batchSize: settings.batchSize,
        maxBatchBytes: settings.maxBatchBytes,
      },
    });
    drain.catch(() => undefined);
    const samples = await sampleMemory(worker, pool, total);
    await client.workflow.getHandle(workflowId).terminate('memory run complete');
    const runs = await eventsPerRun(client, workflowId);
    const stamp = new Date().toISOString().slice(0, 19).replace(/[:T]/g, '-');
    const dir = path.join(PROJECT_ROOT, 'bench', 'results');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, `memory-${stamp}.svg`), memoryChart(samples, total));
    writeFileSync(
      path.join(dir, `memory-${stamp}.json`),
      `${JSON.stringify({ settings, total, machine: machine(), eventsPerRun: runs, samples }, null, 2)}\n`,
    );
    const rss = samples.map((s) => s.rssMb);
    const tail = rss.slice(Math.floor(rss.length / 2));
    process.stdout.write(
      `memory: ${total} messages in ${samples.at(-1)!.seconds} s; worker RSS min ${Math.min(...rss)} MB, max ${Math.max(...rss)} MB, ` +
        `second half ${Math.min(...tail)}–${Math.max(...tail)} MB; ${runs.length} runs, at most ${Math.max(...runs)} events per run\n` +
        `results: bench/results/memory-${stamp}.{svg,json}\n`,
    );
  } finally {
    await pool.end();
    await client.connection.close();
    const exited = new Promise((resolve) => worker.once('exit', resolve));
    worker.kill('SIGTERM');
    await exited;
  }
}

/**
 * Each batch's latency from the history: from its receive being scheduled to its delete completing (activity
 * ids name the batch, `batch-7.receive` … `batch-7.delete`); messages drained, and events in all runs.
 */
async function batchTimings(client: Awaited<ReturnType<typeof connectClient>>, workflowIds: string[]) {
  const run: ModeRun = { messages: 0, seconds: 0, batchMs: [] };
  let events = 0;
  let bytes = 0;
  let actions = 0;
  let first = Infinity;
  let last = 0;
  const runs = new Map<string, { scheduled: Map<string, string>; receiveAt: Map<string, number> }>();
  /** Per activity id: when it was scheduled, started (last attempt) and completed. */
  const times = new Map<string, { scheduled: number; started?: number; completed?: number }>();
  for await (const page of workflowIds.map((id) => historyEvents(client, id)).reduce(concatPages)) {
    const state = runs.get(page.runId) ?? {
      scheduled: new Map<string, string>(),
      receiveAt: new Map<string, number>(),
    };
    runs.set(page.runId, state);
    for (const event of page.events) {
      events++;
      bytes += temporal.api.history.v1.HistoryEvent.encode(event).finish().length;
      actions += billableActions(event);
      const at = tsToMs(event.eventTime);
      const scheduled = event.activityTaskScheduledEventAttributes;
      if (event.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED && scheduled) {
        state.scheduled.set(String(event.eventId), scheduled.activityId!);
        times.set(`${page.runId}/${scheduled.activityId!}`, { scheduled: at });
        if (scheduled.activityId!.endsWith('.receive')) state.receiveAt.set(scheduled.activityId!.split('.')[0]!, at);
      }
      const startedTask = event.activityTaskStartedEventAttributes;
      if (event.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED && startedTask) {
        const activityId = state.scheduled.get(String(startedTask.scheduledEventId)) ?? '';
        times.get(`${page.runId}/${activityId}`)!.started = at;
      }
      const completed = event.activityTaskCompletedEventAttributes;
      if (event.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED && completed) {
        const activityId = state.scheduled.get(String(completed.scheduledEventId)) ?? '';
        times.get(`${page.runId}/${activityId}`)!.completed = at;
        if (!activityId.endsWith('.delete')) continue;
        const started = state.receiveAt.get(activityId.split('.')[0]!)!;
        run.batchMs.push(at - started);
        first = Math.min(first, started);
        last = Math.max(last, at);
      }
    }
  }
  for (const workflowId of workflowIds) {
    run.messages += (await client.workflow.getHandle<typeof drainQueue>(workflowId).result()).received;
  }
  run.seconds = (last - first) / 1000;
  return { run, events, bytes, actions, stepsP50Ms: stepMedians(times) };
}

const STEPS = ['receive', 'mask', 'load', 'delete'] as const;

function stepMedians(times: Map<string, { scheduled: number; started?: number; completed?: number }>) {
  const medians: Record<string, { wait: number; run: number; decide: number }> = {};
  STEPS.forEach((step, index) => {
    const samples = { wait: [] as number[], run: [] as number[], decide: [] as number[] };
    for (const [key, time] of times) {
      if (!key.endsWith(`.${step}`) || time.started === undefined || time.completed === undefined) continue;
      samples.wait.push(time.started - time.scheduled);
      samples.run.push(time.completed - time.started);
      const previous = index > 0 ? times.get(key.replace(`.${step}`, `.${STEPS[index - 1]!}`)) : undefined;
      if (previous?.completed !== undefined) samples.decide.push(time.scheduled - previous.completed);
    }
    const median = (values: number[]) => (values.length ? Math.round(percentile(values, 50)) : 0);
    medians[step] = { wait: median(samples.wait), run: median(samples.run), decide: median(samples.decide) };
  });
  return medians;
}

/** One history reader after the other. */
function concatPages<T>(first: AsyncGenerator<T>, second: AsyncGenerator<T>): AsyncGenerator<T> {
  return (async function* () {
    yield* first;
    yield* second;
  })();
}

/**
 * What Temporal Cloud bills as actions, as far as history shows them: each run's start (continue-as-new starts the
 * next), every activity attempt (a started event carries its attempt number; earlier attempts leave no event),
 * signals, timers, search attribute upserts and local activities. Queries are billed too but leave no event;
 * the drain's progress line makes one every 2 s, which this leaves out.
 */
function billableActions(event: temporal.api.history.v1.IHistoryEvent): number {
  switch (event.eventType) {
    case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
    case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
    case EventType.EVENT_TYPE_TIMER_STARTED:
    case EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
      return 1;
    case EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
      return event.activityTaskStartedEventAttributes?.attempt ?? 1;
    case EventType.EVENT_TYPE_MARKER_RECORDED:
      return event.markerRecordedEventAttributes?.markerName === 'core_local_activity' ? 1 : 0;
    default:
      return 0;
  }
}

function procCpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  // utime and stime, fields 14 and 15 of stat(5), in clock ticks of 1/100 s.
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function procPeakRssMb(pid: number): number {
  const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(match?.[1] ?? 0) / 1024;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

function summarize(run: ModeRun, cpuSeconds: number, peakRssMb: number): ModeResult {
  const rate = run.messages / run.seconds;
  return {
    // A slow server's few messages a second keep a decimal.
    msgsPerSec: rate >= 100 ? Math.round(rate) : Math.round(rate * 10) / 10,
    messages: run.messages,
    seconds: Math.round(run.seconds * 10) / 10,
    p50BatchMs: Math.round(percentile(run.batchMs, 50)),
    p99BatchMs: Math.round(percentile(run.batchMs, 99)),
    peakRssMb: Math.round(peakRssMb),
    cpuSeconds: Math.round(cpuSeconds * 10) / 10,
  };
}

const machine = () => `${cpus().length} × ${cpus()[0]?.model.trim() ?? 'CPU'}, Node ${process.version}`;

function formatTable(results: Partial<Record<Mode, ModeResult>>, settings: Settings): string {
  const rows = (Object.entries(results) as [Mode, ModeResult][]).map(([mode, r]) =>
    [
      mode,
      r.msgsPerSec,
      r.messages,
      r.seconds,
      r.p50BatchMs,
      r.p99BatchMs,
      r.peakRssMb,
      r.cpuSeconds,
      r.historyEventsPer1000 ?? '–',
      r.historyBytesPerMessage ?? '–',
      r.actionsPer1000 ?? '–',
      r.dollarsPerMillionMessages ?? '–',
    ].join(' | '),
  );
  return [
    `${settings.messages} messages, ${settings.concurrency} batches of ${settings.batchSize} in flight (ceiling: ${settings.concurrency} loops of 10, naive: one loop of 10); ` +
      `SQS latency ${settings.sqsLatencyMs} ms, Postgres latency ${settings.pgLatencyMs} ms` +
      (settings.sqsModel ? `, SQS through the ${settings.sqsModel} model` : '') +
      '; ' +
      `temporal: ${settings.drains} drains on ${settings.workers} workers` +
      (settings.maxMessagesPerSecond ? `, capped at ${settings.maxMessagesPerSecond} msg/s` : '') +
      (settings.bodyBytes ? `; bodies padded to ${settings.bodyBytes} bytes` : '') +
      `; ${machine()}`,
    '',
    '| mode | msg/s | messages | seconds | p50 batch (ms) | p99 batch (ms) | peak RSS (MB) | CPU (s) | history events / 1,000 msgs | history bytes / msg | actions / 1,000 msgs | $ / million msgs |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows.map((row) => `| ${row} |`),
    ...(Object.entries(results) as [Mode, ModeResult][])
      .filter(([, r]) => r.sqsModel)
      .map(
        ([mode, { sqsModel: m }], index) =>
          `${index === 0 ? '\nSQS model served: ' : ''}${mode} ${m!.requests} requests (${Object.entries(m!.byOperation)
            .map(([operation, count]) => `${count} ${operation}`)
            .join(
              ', ',
            )}; ${m!.messagesReceived} messages received; busy ${Math.round(m!.busyMs / 1000)} s; ${m!.refusedConnections} connections reset, ${m!.serverErrors} answered 500)`,
      ),
  ].join('\n');
}

/** A horizontal bar chart of messages per second, one bar per mode. */
function chart(results: Partial<Record<Mode, ModeResult>>, settings: Settings): string {
  const entries = Object.entries(results) as [Mode, ModeResult][];
  const max = Math.max(...entries.map(([, r]) => r.msgsPerSec), 1);
  const width = 640;
  const bar = (value: number) => Math.max(1, Math.round((value / max) * (width - 220)));
  const rows = entries
    .map(
      ([mode, r], i) =>
        `<text x="10" y="${60 + i * 40}" font-size="14">${mode}</text>` +
        `<rect x="100" y="${45 + i * 40}" width="${bar(r.msgsPerSec)}" height="22" fill="#4a7bd0"/>` +
        `<text x="${108 + bar(r.msgsPerSec)}" y="${61 + i * 40}" font-size="13">${r.msgsPerSec} msg/s</text>`,
    )
    .join('\n  ');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${70 + entries.length * 40}" font-family="sans-serif">
  <text x="10" y="24" font-size="15" font-weight="bold">login-etl drain throughput, ${settings.messages} messages</text>
  ${rows}
</svg>
`;
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    log.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    process.exit(1);
  },
);
