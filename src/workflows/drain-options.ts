/** Settings of one drain, chosen by whoever starts it; pure, so client and workflow share them. */
type DrainMode = 'until-empty' | 'continuous';

export interface DrainOptions {
  mode: DrainMode;
  /** Messages per batch, received with several ReceiveMessage calls of 10 at once. */
  batchSize: number;
  /** Batches in flight at once, each its own receive → mask → load → delete. */
  concurrency: number;
  /**
   * Let the server hand a batch's activities straight back to the worker running the drain (eager dispatch):
   * faster with one worker (docs/PERFORMANCE.md), but other workers then sit idle, so off by default.
   */
  eagerActivities: boolean;
  /** Bytes of one batch (its messages as received): bounds what a worker holds in memory. */
  maxBatchBytes: number;
  /**
   * The lease: how long SQS hides received messages at a time. The worker holding a batch renews it every third of
   * this; a batch lost with its worker is visible again within it.
   */
  visibilityTimeoutSeconds: number;
  /** until-empty: how long a receive waits for messages before it counts as empty. */
  emptyGraceSeconds: number;
  /** until-empty: how long the queue's counts must keep reading zero, between empty receives, to end the drain. */
  emptyConfirmSeconds: number;
  /** Publish totals and state as search attributes; only once they are registered in the namespace. */
  searchAttributes: boolean;
  /**
   * A cap on the messages this drain receives per second, to spare Postgres (and SQS); 0, no cap. The drain paces
   * its receives and takes batches of at most a quarter second's worth.
   */
  maxMessagesPerSecond: number;
}

export const DEFAULT_DRAIN_OPTIONS: DrainOptions = {
  mode: 'until-empty',
  batchSize: 1000,
  concurrency: 4,
  eagerActivities: false,
  maxBatchBytes: 8 * 1024 * 1024,
  visibilityTimeoutSeconds: 60,
  emptyGraceSeconds: 3,
  emptyConfirmSeconds: 5,
  searchAttributes: false,
  maxMessagesPerSecond: 0,
};

const DRAIN_LIMITS = {
  batchSize: { min: 1, max: 10_000 },
  concurrency: { min: 1, max: 32 },
  maxBatchBytes: { min: 64 * 1024, max: 64 * 1024 * 1024 },
  visibilityTimeoutSeconds: { min: 10, max: 43_200 },
  emptyGraceSeconds: { min: 0, max: 20 },
  emptyConfirmSeconds: { min: 0, max: 300 },
  maxMessagesPerSecond: { min: 0, max: 1_000_000 },
} as const;

/** Fills in defaults and rejects values out of range with a message naming the option. */
export function resolveDrainOptions(options: Partial<DrainOptions> = {}): DrainOptions {
  const given = Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined));
  const resolved = { ...DEFAULT_DRAIN_OPTIONS, ...given };
  for (const name of ['eagerActivities', 'searchAttributes'] as const) {
    if (typeof resolved[name] !== 'boolean') throw new RangeError(`${name} must be true or false`);
  }
  if (resolved.mode !== 'until-empty' && resolved.mode !== 'continuous') {
    throw new RangeError(`mode must be until-empty or continuous`);
  }
  for (const [name, { min, max }] of Object.entries(DRAIN_LIMITS)) {
    const value = resolved[name as keyof typeof DRAIN_LIMITS];
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new RangeError(`${name} must be an integer from ${min} to ${max}`);
    }
  }
  return resolved;
}

/** Running totals of a drain, carried across continue-as-new. */
export interface DrainStats {
  received: number;
  loaded: number;
  duplicates: number;
  quarantined: number;
  deleted: number;
  /** Deletes refused because the message had been received again elsewhere (it is deleted there). */
  staleDeletes: number;
  /** Rows Postgres refused at insert time, quarantined instead. */
  rejected: number;
  /** Messages a delete found no committed row or record for (a load completed by hand): left to redelivery. */
  uncommitted: number;
  batches: number;
  /** Batches lost with the worker that held them: their messages came back to the queue, to be received again. */
  lostBatches: number;
  /** Runs of this drain so far: 1 plus the number of continue-as-new. */
  runs: number;
  /**
   * Milliseconds during which batches with messages were in flight, from a receive that brought messages to the
   * last delete: the drain's active time, apart from waiting for messages or confirming the queue empty.
   */
  activeMs: number;
}

export const emptyStats = (): DrainStats => ({
  received: 0,
  loaded: 0,
  duplicates: 0,
  quarantined: 0,
  deleted: 0,
  staleDeletes: 0,
  rejected: 0,
  uncommitted: 0,
  batches: 0,
  lostBatches: 0,
  runs: 1,
  activeMs: 0,
});

/** The totals of several drains (of one queue), field by field. */
export function sumStats(all: DrainStats[]): DrainStats {
  const sum: DrainStats = { ...emptyStats(), runs: 0 };
  for (const stats of all) for (const key of Object.keys(sum) as (keyof DrainStats)[]) sum[key] += stats[key];
  return sum;
}

/** The totals as every command and failure states them. */
export const statsSentence = (stats: DrainStats): string =>
  `${stats.received} received, ${stats.loaded} loaded, ${stats.quarantined} quarantined, ` +
  `${stats.duplicates} duplicates, ${stats.deleted} deleted` +
  (stats.lostBatches > 0 ? `, ${stats.lostBatches} batches lost with their worker (received again)` : '');

export interface DrainInput {
  options?: Partial<DrainOptions>;
  /** Totals of the runs before this one, when continued as new. */
  stats?: DrainStats;
  /** Paused when the previous run continued as new. */
  paused?: boolean;
}

/** What an operator has asked of a running drain (signals `pause`, `resume`, `stop`). */
export interface DrainControl {
  paused: boolean;
  /** Stop once the batches in flight are done; the drain then completes with its totals. */
  stopping: boolean;
}
