import {
  condition,
  isCancellation,
  log,
  metricMeter,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { DeleteBatchResult } from '../activities/delete-batch';
import type { LoadBatchResult } from '../activities/load-batch';
import type { HeldBatchRef } from '../activities/receive-batch';
import { Pace } from '../core/pace';
import { isRefusedPayload } from '../core/refused-payload';
import type { CommittedByBatch } from '../db/committed-by-batch';
import { PIPELINE_METRICS } from '../metrics';
import type { QueueDepth } from '../sqs';
import { heldBatchSteps, HOLD_SECONDS, isBatchLost, sharedActivities } from './batch-activities';
import { emptyStats, type DrainControl, type DrainInput, type DrainOptions, type DrainStats } from './drain-options';
import { EmptyCheck } from './empty-check';
import { drainSearchAttributeUpdate, drainState, type DrainState } from './search-attributes';

/** Bounds each run's history (about 25 events a batch) well below where the Web UI gets slow. */
const MAX_BATCHES_PER_RUN = 100;

/** The longest a long poll may wait (SQS's own limit). */
const MAX_WAIT_SECONDS = 20;

/** How a run ended: the drain is done, or goes on in a new run, or failed with `DrainRun.failure`. */
export type RunOutcome = 'drained' | 'stopped' | 'continue-as-new' | 'failed';

/**
 * One run of a drain: `concurrency` lanes, each running batches (receive → mask → load → delete) one after the
 * other, and the totals, control and search attributes they share. The workflow (drain-queue.ts) wires signals and
 * queries to it and decides what follows the run.
 */
export class DrainRun {
  readonly stats: DrainStats;
  readonly control: DrainControl;
  /** The first batch that failed after its retries, once one has. */
  failure: { batch: number; error: unknown } | undefined;
  private outcome: RunOutcome | undefined;
  /** Batches this run counts toward continue-as-new. */
  private counted = 0;
  /** Numbers every receive, for unique activity ids. */
  private sequence = 0;
  private readonly emptyCheck: EmptyCheck;
  /** The last receive found nothing; while so, `polling` says a lane is receiving and the others wait for it. */
  private empty = false;
  private polling = false;
  private published: string | undefined;
  /** Under `maxMessagesPerSecond`: the receives' reservations, on workflow time. */
  private readonly pace: Pace | undefined;
  /** Batches with messages in flight, and since when some have been (for `stats.activeMs`). */
  private busy = 0;
  private busySince = 0;
  // Recorded by the worker that runs the workflow task, never on replay.
  private readonly batchDuration = metricMeter.createHistogram(
    PIPELINE_METRICS.batchDuration.name,
    'float',
    's',
    PIPELINE_METRICS.batchDuration.help,
  );

  private readonly lostBatchCounter = metricMeter.createCounter(
    PIPELINE_METRICS.lostBatches.name,
    'batches',
    PIPELINE_METRICS.lostBatches.help,
  );

  constructor(
    readonly options: DrainOptions,
    input: DrainInput,
  ) {
    this.stats = { ...emptyStats(), ...input.stats };
    this.control = { paused: input.paused ?? false, stopping: false };
    this.emptyCheck = new EmptyCheck(options);
    this.pace = options.maxMessagesPerSecond ? new Pace(options.maxMessagesPerSecond) : undefined;
  }

  setControl(change: Partial<DrainControl>): void {
    Object.assign(this.control, change);
    this.publish();
  }

  /** Upserts totals and state when they changed: one history event per batch at most, none while idle. */
  publish(state: DrainState = drainState(this.control)): void {
    if (!this.options.searchAttributes) return;
    const update = drainSearchAttributeUpdate(this.stats, state);
    const serialized = JSON.stringify(update.map(({ value }) => value));
    if (serialized === this.published) return;
    this.published = serialized;
    upsertSearchAttributes(update);
  }

  /** Runs the lanes until the queue is drained, the drain is stopped or fails, or the run should continue as new. */
  async run(): Promise<RunOutcome> {
    this.publish();
    await Promise.all(Array.from({ length: this.options.concurrency }, () => this.lane()));
    // A stop that arrived while the lanes wound down for continue-as-new ends the drain.
    if (this.outcome === 'continue-as-new' && this.control.stopping) return 'stopped';
    return this.outcome!;
  }

  private async lane(): Promise<void> {
    while (this.outcome === undefined) {
      await condition(() => !this.control.paused || this.control.stopping || this.outcome !== undefined);
      if (this.control.stopping) this.outcome ??= 'stopped';
      if (this.outcome !== undefined) return;
      // A long history, or a newer build made current (Worker Versioning): the next run starts on the newest build.
      const info = workflowInfo();
      if (
        this.counted >= MAX_BATCHES_PER_RUN ||
        info.continueAsNewSuggested ||
        info.targetWorkerDeploymentVersionChanged
      ) {
        this.outcome = 'continue-as-new';
        return;
      }
      // While the queue is empty, one lane polls it and the others wait until it finds messages.
      const polls = this.empty;
      if (polls) {
        if (this.polling) {
          await condition(
            () => !this.empty || this.control.paused || this.control.stopping || this.outcome !== undefined,
          );
          continue;
        }
        this.polling = true;
      }
      const batch = ++this.sequence;
      try {
        await this.runBatch(batch);
      } catch (error) {
        if (isCancellation(error)) throw error;
        // Going on would only meet the same fault: the batches in flight finish, then the drain fails.
        this.failure ??= { batch, error };
        this.outcome = 'failed';
      } finally {
        if (polls) this.polling = false;
      }
    }
  }

  private async runBatch(batch: number): Promise<void> {
    const maxMessages = await this.paceReceive();
    const started = Date.now();
    const received = await sharedActivities(batch, this.options).receiveHeldBatch({
      maxMessages,
      maxBytes: this.options.maxBatchBytes,
      waitTimeSeconds: this.options.mode === 'continuous' ? MAX_WAIT_SECONDS : this.options.emptyGraceSeconds,
      leaseSeconds: this.options.visibilityTimeoutSeconds,
      holdSeconds: HOLD_SECONDS,
    });
    this.pace?.refund(maxMessages - (received.batch?.messages ?? 0));
    if (!received.batch) return this.receivedNothing(received.queueDepth);
    this.empty = false;
    this.emptyCheck.received();
    this.counted++;
    this.stats.received += received.batch.messages;
    if (this.busy++ === 0) this.busySince = started;
    try {
      await this.runSteps(batch, received.batch);
    } finally {
      if (--this.busy === 0) this.stats.activeMs += Date.now() - this.busySince;
    }
    this.stats.batches++;
    this.batchDuration.record((Date.now() - started) / 1000);
    this.publish();
  }

  /**
   * Mask, load and delete on the worker that holds the batch; a batch lost with its worker is counted, not thrown.
   * A result that came unencrypted (completed by hand, core/refused-payload.ts) is not the activity's: the load's is
   * replaced by what Postgres has committed for the batch, and the delete, which deletes only what is committed,
   * goes on as usual.
   */
  private async runSteps(batch: number, held: HeldBatchRef): Promise<void> {
    const steps = heldBatchSteps(batch, held.taskQueue);
    let loading = false;
    try {
      await steps.maskHeldBatch(held.id);
      loading = true;
      const load = await steps.loadHeldBatch(held.id);
      loading = false;
      if (isRefusedPayload(load)) {
        log.warn('a load result came unencrypted and was refused: counting what Postgres committed', { batch });
        this.countLoad(await sharedActivities(batch, this.options).settleLostBatch(held.id));
      } else {
        this.countLoad(load);
      }
      const removal = await steps.deleteHeldBatch(held.id);
      if (isRefusedPayload(removal)) log.warn('a delete result came unencrypted and was refused', { batch });
      else this.countRemoval(removal);
    } catch (error) {
      if (!isBatchLost(error)) throw error;
      // Its messages come back when their lease runs out; what its load committed counts here, not as duplicates.
      if (loading) this.countLoad(await sharedActivities(batch, this.options).settleLostBatch(held.id));
      this.stats.lostBatches++;
      this.lostBatchCounter.add(1);
    }
  }

  /**
   * Under a cap of R messages a second, a receive reserves its batch (a quarter second's worth at most) and starts
   * when the receives before it have had their share of time, so the lanes take turns evenly and the drain never
   * runs ahead of R; what a receive did not get is given back. Without a cap: the batch size, at once.
   */
  private async paceReceive(): Promise<number> {
    if (!this.pace) return this.options.batchSize;
    const maxMessages = Math.max(
      1,
      Math.min(this.options.batchSize, Math.floor(this.options.maxMessagesPerSecond / 4)),
    );
    const startAt = this.pace.reserve(maxMessages, Date.now());
    if (startAt > Date.now()) await sleep(startAt - Date.now());
    return maxMessages;
  }

  /** Notes a receive that found nothing; an until-empty drain may be done. */
  private receivedNothing(queueDepth: QueueDepth | undefined): void {
    this.empty = true;
    if (this.options.mode === 'until-empty' && this.emptyCheck.isEmptyAfter(queueDepth, Date.now())) {
      this.outcome ??= 'drained';
    }
    // An idle continuous drain still moves toward continue-as-new.
    if (this.options.mode === 'continuous') this.counted++;
  }

  /** A load's result, or what a lost batch's load committed (no duplicates or rejections known). */
  private countLoad(load: CommittedByBatch & Partial<LoadBatchResult>): void {
    this.stats.loaded += load.loaded;
    this.stats.quarantined += load.quarantined;
    this.stats.duplicates += load.duplicates ?? 0;
    this.stats.rejected += load.rejected ?? 0;
  }

  private countRemoval(removal: DeleteBatchResult): void {
    this.stats.deleted += removal.deleted;
    this.stats.staleDeletes += removal.stale;
    this.stats.uncommitted += removal.uncommitted;
  }
}
