/**
 * The drainQueue workflow alone, on the shared dev server, with stub activities (as samples-typescript's
 * workflows-mocks does): a queue in memory stands in for SQS and Postgres, so each case takes seconds.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Context } from '@temporalio/activity';
import { ApplicationFailure, Client, WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import type { HeldActivities, SharedActivities } from '../../src/activities';
import { loadConfig } from '../../src/config';
import { FAILURE_TYPES } from '../../src/core/failure-types';
import { loadKeyring } from '../../src/secrets';
import { waitUntil } from '../../src/stack/readiness';
import { connectClient } from '../../src/temporal/connect-client';
import { createDataConverter } from '../../src/temporal/data-converter';
import { installTemporalRuntime } from '../../src/temporal/runtime';
import { controlQuery, drainQueue, pauseSignal, resumeSignal, statsQuery, stopSignal } from '../../src/workflows';
import type { DrainOptions } from '../../src/workflows/drain-options';
import { TEST_ENV } from '../helpers/test-env';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

type StubActivities = SharedActivities & HeldActivities;

/** A queue in memory and the activities over it, with hooks a test uses to hold, fail or lose one batch. */
class StubQueue {
  visible = 0;
  /** Messages received by a consumer that is gone: reported in flight until they come back. */
  inFlight = 0;
  received = 0;
  deleted = 0;
  /** Activities running now, by activity id (`batch-7.load`). */
  readonly running = new Set<string>();
  readonly started: string[] = [];
  /** Message counts of the batches held, by id. */
  private readonly held = new Map<string, number>();
  private next = 0;
  /** The task queue of the stub's worker, where the held steps run. */
  taskQueue = '';
  /** Runs before a load; may wait or throw. */
  beforeLoad: (activityId: string) => Promise<void> = () => Promise.resolve();
  /** Receives (by activity id) whose batch goes to a worker that is gone. */
  readonly lostWith = new Set<string>();
  /** Messages that appear right after the first empty receive, whose counts read zero: SQS's counts lagging. */
  lateMessages = 0;
  /** What a lost batch's load had committed, as Postgres would tell. */
  committedByLostBatch = { loaded: 0, quarantined: 0 };
  /** Receives that found nothing and loads, running now and the most at once. */
  readonly atOnce = { emptyReceives: 0, maxEmptyReceives: 0, loads: 0, maxLoads: 0 };

  add(count: number) {
    this.visible += count;
  }

  activities(): StubActivities {
    const track =
      <A, R>(step: (input: A) => R | Promise<R>) =>
      async (input: A): Promise<R> => {
        const { activityId } = Context.current().info;
        this.started.push(activityId);
        this.running.add(activityId);
        try {
          return await step(input);
        } finally {
          this.running.delete(activityId);
        }
      };
    const count = (batchId: string) => this.held.get(batchId)!;
    return {
      receiveHeldBatch: track(async ({ maxMessages, waitTimeSeconds }) => {
        const messages = Math.min(maxMessages, this.visible);
        if (messages === 0) {
          this.atOnce.maxEmptyReceives = Math.max(this.atOnce.maxEmptyReceives, ++this.atOnce.emptyReceives);
          // A short stand-in for the long poll.
          await sleep(Math.min(waitTimeSeconds * 1000, 50)).finally(() => this.atOnce.emptyReceives--);
          // Counted after the wait, as SQS counts when it answers.
          const queueDepth = { visible: this.visible, inFlight: this.inFlight, delayed: 0 };
          this.add(this.lateMessages);
          this.lateMessages = 0;
          return { released: 0, queueDepth };
        }
        this.visible -= messages;
        this.received += messages;
        const id = `b${++this.next}`;
        this.held.set(id, messages);
        const lost = this.lostWith.has(Context.current().info.activityId);
        // Held by a worker that is gone: in flight until the lease runs out.
        if (lost) this.inFlight += messages;
        const taskQueue = lost ? `${this.taskQueue}/held/gone` : this.taskQueue;
        return { batch: { id, taskQueue, messages, bytes: messages * 2 }, released: 0 };
      }),
      settleLostBatch: track(() => this.committedByLostBatch),
      maskHeldBatch: track((batchId) => ({ valid: count(batchId), invalid: 0, tokens: 0, keyVersion: 1 })),
      loadHeldBatch: track(async (batchId) => {
        this.atOnce.maxLoads = Math.max(this.atOnce.maxLoads, ++this.atOnce.loads);
        await this.beforeLoad(Context.current().info.activityId).finally(() => this.atOnce.loads--);
        return { loaded: count(batchId), quarantined: 0, duplicates: 0, rejected: 0 };
      }),
      deleteHeldBatch: track((batchId) => {
        this.deleted += count(batchId);
        return { deleted: count(batchId), stale: 0, uncommitted: 0 };
      }),
    };
  }
}

/** A promise and the function that resolves it. */
function latch() {
  let release!: () => void;
  const done = new Promise<void>((resolve) => (release = resolve));
  return { release, done };
}

/** Holds the load of one batch until the test lets it go, and says when it has started. */
function holdLoad(queue: StubQueue, activityId: string) {
  const reached = latch();
  const opened = latch();
  queue.beforeLoad = async (id) => {
    if (id !== activityId) return;
    reached.release();
    await opened.done;
  };
  return { reached: reached.done, open: opened.release };
}

describe('drainQueue with stub activities', () => {
  const config = loadConfig();
  let client: Client;
  let connection: NativeConnection;
  const workers: Promise<void>[] = [];
  const running: Worker[] = [];

  before(async () => {
    const keyring = await loadKeyring(config);
    client = await connectClient(config, keyring);
    installTemporalRuntime();
    connection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
  });
  after(async () => {
    for (const worker of running) worker.shutdown();
    await Promise.all(workers);
    await connection.close();
    await client.connection.close();
  });

  /**
   * The workflow has nothing left to decide and no activity pending but `expected`: every lane has either ended,
   * or waits (paused), or waits on one of those. Read from the server, so an activity scheduled but not yet started
   * counts as pending.
   */
  async function settled(handle: WorkflowHandle, expected: string[]): Promise<boolean> {
    const { raw } = await handle.describe();
    const pending = (raw.pendingActivities ?? []).map((activity) => activity.activityId ?? '').sort();
    return !raw.pendingWorkflowTask && JSON.stringify(pending) === JSON.stringify([...expected].sort());
  }

  /** The drain's last run, replayed on the same code: what it did is deterministic. */
  async function assertReplays(workflowId: string) {
    const history = await client.workflow.getHandle(workflowId).fetchHistory();
    await Worker.runReplayHistory(
      {
        workflowBundle: { codePath: process.env[TEST_ENV.bundle]! },
        dataConverter: createDataConverter(await loadKeyring(config)),
      },
      history,
    );
  }

  /** A worker of its own task queue with the stub's activities, and a drain started on it. */
  async function startDrain(queue: StubQueue, options: Partial<DrainOptions>, via: Client = client) {
    const taskQueue = `stub-${randomBytes(4).toString('hex')}`;
    queue.taskQueue = taskQueue;
    const worker = await Worker.create({
      connection,
      taskQueue,
      workflowBundle: { codePath: process.env[TEST_ENV.bundle]! },
      activities: queue.activities(),
      dataConverter: createDataConverter(await loadKeyring(config)),
    });
    running.push(worker);
    workers.push(worker.run());
    return via.workflow.start(drainQueue, {
      taskQueue,
      workflowId: `drain-${taskQueue}`,
      args: [{ options: { emptyGraceSeconds: 1, emptyConfirmSeconds: 1, visibilityTimeoutSeconds: 10, ...options } }],
    });
  }

  it('until-empty drains every message and completes', async () => {
    const queue = new StubQueue();
    queue.add(55);
    const handle = await startDrain(queue, { batchSize: 10, concurrency: 2 });
    const stats = await handle.result();
    assert.deepEqual([stats.received, stats.loaded, stats.deleted, stats.batches, stats.runs], [55, 55, 55, 6, 1]);
  });

  it('counts a batch lost with its worker and receives its messages again, without waiting on the lost worker', async () => {
    const queue = new StubQueue();
    queue.add(30);
    queue.lostWith.add('batch-2.receive');
    const handle = await startDrain(queue, { batchSize: 10, concurrency: 1 });
    await waitUntil('the lost batch', async () => (await handle.query(statsQuery)).lostBatches === 1, {
      timeoutMs: 60_000,
    });
    assert.equal((await handle.describe()).status.name, 'RUNNING', 'its messages in flight keep the drain open');
    // Its lease runs out: the messages are visible again.
    queue.inFlight = 0;
    queue.add(10);
    const stats = await handle.result();
    await assertReplays(handle.workflowId);
    assert.deepEqual(
      [stats.received, stats.loaded, stats.deleted, stats.lostBatches, stats.batches],
      [40, 30, 30, 1, 4],
    );
    assert.ok(!queue.started.includes('batch-2.settle'), 'nothing to settle: it was lost before its load');
  });

  /** A client without the codec: what anyone who may call Temporal's API can send. */
  const plainClient = () => new Client({ connection: client.connection, namespace: client.options.namespace });

  it('refuses a load result completed by hand unencrypted: counts what Postgres committed, and deletes as usual', async () => {
    const queue = new StubQueue();
    queue.add(20);
    queue.committedByLostBatch = { loaded: 0, quarantined: 0 };
    const held = holdLoad(queue, 'batch-1.load');
    const handle = await startDrain(queue, { batchSize: 10, concurrency: 1 });
    await held.reached;
    await plainClient().activity.complete(
      { workflowId: handle.workflowId, activityId: 'batch-1.load' },
      { loaded: 999, quarantined: 0, duplicates: 0, rejected: 0 },
    );
    held.open();
    const stats = await handle.result();
    assert.ok(queue.started.includes('batch-1.settle'), 'Postgres was asked instead');
    assert.deepEqual([stats.received, stats.loaded, stats.deleted], [20, 10, 20], 'the forged 999 counts nowhere');
    await assertReplays(handle.workflowId);
  });

  it('fails a drain whose input came unencrypted, at once and with a reason', async () => {
    const started = await startDrain(new StubQueue(), {}, plainClient());
    await assert.rejects(client.workflow.getHandle(started.workflowId).result(), (error: unknown) => {
      assert.ok(error instanceof WorkflowFailedError && error.cause instanceof ApplicationFailure);
      assert.equal(error.cause.type, FAILURE_TYPES.invalidDrainOptions);
      assert.match(error.cause.message, /came unencrypted and was refused/);
      return true;
    });
  });

  it('settles a batch lost during its load by what the load committed, so its messages are not counted twice', async () => {
    const queue = new StubQueue();
    queue.add(20);
    queue.committedByLostBatch = { loaded: 9, quarantined: 1 };
    queue.beforeLoad = (id) => {
      if (id !== 'batch-1.load') return Promise.resolve();
      // The worker gave the batch up: its messages are in flight until their lease runs out.
      queue.inFlight += 10;
      return Promise.reject(ApplicationFailure.nonRetryable('given up', FAILURE_TYPES.batchNotHeld));
    };
    const handle = await startDrain(queue, { batchSize: 10, concurrency: 1 });
    await waitUntil('the lost batch', async () => (await handle.query(statsQuery)).lostBatches === 1);
    // Its messages come back (the stub loads them again; Postgres would find them, duplicates).
    queue.inFlight = 0;
    queue.add(10);
    const stats = await handle.result();
    assert.ok(queue.started.includes('batch-1.settle'));
    assert.deepEqual(
      [stats.received, stats.loaded, stats.quarantined, stats.deleted, stats.lostBatches],
      [30, 9 + 10 + 10, 1, 20, 1],
    );
  });

  it('until-empty does not end on one zero count that lags behind messages just sent', async () => {
    const queue = new StubQueue();
    queue.lateMessages = 25;
    const handle = await startDrain(queue, { batchSize: 10, concurrency: 1 });
    const stats = await handle.result();
    await assertReplays(handle.workflowId);
    assert.equal(stats.received, 25, 'the messages counted late are drained');
  });

  it('until-empty waits for messages in flight to come back before it completes', async () => {
    const queue = new StubQueue();
    queue.inFlight = 5;
    const handle = await startDrain(queue, { batchSize: 10, concurrency: 1 });
    await sleep(2_500);
    assert.equal((await handle.describe()).status.name, 'RUNNING', 'messages in flight keep the drain open');
    // Their visibility timeout ends: they are visible again, no longer in flight.
    queue.add(5);
    queue.inFlight = 0;
    const stats = await handle.result();
    assert.equal(stats.received, 5);
  });

  /**
   * A drain of 150 one-message batches whose 100th load is held: the other lane reaches the batch limit of a run
   * and stops, so the drain is winding down for continue-as-new when this returns. Release the load to go on.
   */
  async function windingDownAtBatchLimit(queue: StubQueue) {
    queue.add(150);
    const held = holdLoad(queue, 'batch-100.load');
    const handle = await startDrain(queue, { batchSize: 1, concurrency: 2 });
    await held.reached;
    await waitUntil('the other lane to wind down', () => settled(handle, ['batch-100.load']));
    return { handle, release: held.open };
  }

  it('continues as new at the batch limit, carrying the totals and the pause', async () => {
    const queue = new StubQueue();
    const { handle, release } = await windingDownAtBatchLimit(queue);
    await handle.signal(pauseSignal);
    release();
    await waitUntil('the second run', async () => (await handle.query(statsQuery)).runs === 2);
    const carried = await handle.query(statsQuery);
    assert.ok(carried.batches >= 100, `the first run's ${carried.batches} batches are carried`);
    assert.equal(carried.received, queue.received);
    assert.deepEqual(await handle.query(controlQuery), { paused: true, stopping: false });
    await sleep(1_000);
    assert.equal(queue.received, carried.received, 'nothing moves while paused');
    await handle.signal(resumeSignal);
    const stats = await handle.result();
    assert.deepEqual([stats.received, stats.loaded, stats.deleted, stats.runs], [150, 150, 150, 2]);
  });

  it('a stop that arrives while the lanes wind down for continue-as-new ends the drain', async () => {
    const queue = new StubQueue();
    const { handle, release } = await windingDownAtBatchLimit(queue);
    await handle.signal(stopSignal);
    release();
    const stats = await handle.result();
    await assertReplays(handle.workflowId);
    assert.equal(stats.runs, 1, 'no new run after the stop');
    assert.equal(stats.received, queue.received);
    assert.ok(queue.visible > 0, 'the rest stays in the queue');
  });

  it('pause holds new batches, resume goes on, stop completes after the batches in flight', async () => {
    const queue = new StubQueue();
    queue.add(1_000);
    const handle = await startDrain(queue, { batchSize: 5, concurrency: 2 });
    await waitUntil('a first batch', async () => (await handle.query(statsQuery)).batches > 0);
    await handle.signal(pauseSignal);
    await waitUntil('the batches in flight', () => settled(handle, []));
    const paused = queue.received;
    await sleep(1_000);
    assert.equal(queue.received, paused, 'nothing starts while paused');
    await handle.signal(resumeSignal);
    await waitUntil('more batches', () => Promise.resolve(queue.received > paused));
    await handle.signal(stopSignal);
    const stats = await handle.result();
    assert.equal(stats.received, queue.received);
    assert.equal(stats.deleted, queue.deleted, 'every batch started was finished');
    assert.ok(queue.visible > 0);
  });

  it('continuous mode keeps waiting for new messages until stopped', async () => {
    const queue = new StubQueue();
    queue.add(30);
    const handle = await startDrain(queue, { mode: 'continuous', batchSize: 10, concurrency: 2 });
    await waitUntil('the first messages', async () => (await handle.query(statsQuery)).received === 30);
    await sleep(1_000);
    assert.equal((await handle.describe()).status.name, 'RUNNING', 'an empty queue does not end it');
    queue.add(20);
    await waitUntil('the later messages', async () => (await handle.query(statsQuery)).received === 50);
    await handle.signal(stopSignal);
    const stats = await handle.result();
    assert.deepEqual([stats.received, stats.deleted], [50, 50]);
  });

  it('while the queue is empty one lane polls it, and messages it finds wake every lane', async () => {
    const queue = new StubQueue();
    const handle = await startDrain(queue, { mode: 'continuous', batchSize: 5, concurrency: 4 });
    // Every lane receives once at the start, before any knows the queue is empty; from then on one polls.
    await waitUntil('the first empty receives', () => Promise.resolve(queue.started.length >= 8));
    queue.atOnce.maxEmptyReceives = queue.atOnce.emptyReceives;
    await waitUntil('more empty receives', () => Promise.resolve(queue.started.length >= 16));
    assert.equal(queue.atOnce.maxEmptyReceives, 1, 'one receive at a time while empty, not one per lane');
    // Loads that take a moment, so lanes working side by side overlap.
    queue.beforeLoad = async () => {
      await sleep(200);
    };
    queue.add(40);
    await waitUntil('the messages', async () => (await handle.query(statsQuery)).deleted === 40);
    assert.ok(queue.atOnce.maxLoads >= 3, `lanes woke to load side by side (at most ${queue.atOnce.maxLoads} at once)`);
    await handle.signal(stopSignal);
    await handle.result();
    await assertReplays(handle.workflowId);
  });

  it('a failed batch fails the drain once the other batches in flight are done', async () => {
    const queue = new StubQueue();
    queue.add(500);
    const batch3Failed = latch();
    const batch4Loading = latch();
    queue.beforeLoad = async (id) => {
      // Batch 4 is in flight when batch 3 fails; it must still finish (load and delete).
      if (id === 'batch-3.load') {
        await batch4Loading.done;
        batch3Failed.release();
        throw ApplicationFailure.nonRetryable('Postgres refused every attempt', 'StubOutage');
      }
      if (id === 'batch-4.load') {
        batch4Loading.release();
        await batch3Failed.done;
        await sleep(500);
      }
    };
    const handle = await startDrain(queue, { batchSize: 10, concurrency: 2 });
    const error = await handle.result().then(
      () => assert.fail('the drain should fail'),
      (e: unknown) => e,
    );
    await assertReplays(handle.workflowId);
    assert.ok(error instanceof WorkflowFailedError);
    assert.ok(error.cause instanceof ApplicationFailure);
    assert.equal(error.cause.type, FAILURE_TYPES.batchFailed);
    assert.match(error.cause.message, /batch 3 failed/);
    assert.ok(queue.started.includes('batch-4.delete'), 'the batch in flight finished');
    assert.equal(queue.started.filter((id) => id.endsWith('.receive')).length, 4, 'no batch started after');
    const [stats] = error.cause.details as [{ deleted: number }];
    assert.equal(stats.deleted, queue.deleted);
  });
});
