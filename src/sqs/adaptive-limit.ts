/**
 * How many SQS calls a worker keeps in flight, adapted to what the server answers, in the manner of TCP congestion
 * control and Netflix's concurrency-limits: the limit grows by about one per round of calls that succeed within
 * their latency target, is cut by a tenth when calls come back slower than that (they queue at the server), and by
 * half on a drop (a timeout, a refused or reset connection, a 5xx, throttling). One cut per round: the calls already
 * in flight when the limit was cut report the same congestion and do not cut it again. Pure: the caller passes the
 * clock, so tests can drive it.
 */
export interface AdaptiveLimitOptions {
  /** @default 40 (a drain's 4 batches, each with 10 calls in flight) */
  initial: number;
  /** @default 1 */
  min: number;
  /** @default 200 */
  max: number;
  /**
   * A call is on target while its latency is at most `tolerance` times the lowest latency recently seen for its
   * operation, plus `toleranceMs`: at a server that serves one request at a time, two may wait behind the one it
   * serves, so it never waits for the next.
   * @default 3
   */
  tolerance: number;
  /**
   * A fast server's latency is mostly noise (an emulator sharing two cores answers in 1 ms or 50): below this it
   * does not count as queueing.
   * @default 100
   */
  toleranceMs: number;
  /**
   * How long the lowest latency of an operation is remembered: a server that became slower for good is learnt.
   * @default 30000
   */
  baselineWindowMs: number;
}

const DEFAULT_ADAPTIVE_LIMIT: AdaptiveLimitOptions = {
  initial: 40,
  min: 1,
  max: 200,
  tolerance: 3,
  toleranceMs: 100,
  baselineWindowMs: 30_000,
};

/** What became of one call. */
export type CallOutcome =
  | { kind: 'ok'; latencyMs: number }
  /** Succeeded, but its latency says nothing of the server's load (a long poll that waited for messages). */
  | { kind: 'ok-unmeasured' }
  | { kind: 'drop' };

/** A call as the limit sees it: when it started and how many calls were in flight then (itself included). */
export interface CallStart {
  operation: string;
  startedAt: number;
  inFlight: number;
}

const CUT_ON_DROP = 0.5;
const CUT_ON_SLOW = 0.9;

/** The lowest latency of one operation over the current and the previous window. */
class Baseline {
  private current = Infinity;
  private previous = Infinity;
  private windowStart: number;

  constructor(
    now: number,
    private readonly windowMs: number,
  ) {
    this.windowStart = now;
  }

  add(latencyMs: number, now: number): void {
    if (now - this.windowStart >= this.windowMs) {
      this.previous = this.current;
      this.current = Infinity;
      this.windowStart = now;
    }
    this.current = Math.min(this.current, latencyMs);
  }

  get value(): number {
    return Math.min(this.current, this.previous);
  }
}

export class AdaptiveLimit {
  private value: number;
  private lastCutAt = -Infinity;
  private readonly baselines = new Map<string, Baseline>();
  readonly options: AdaptiveLimitOptions;

  constructor(options: Partial<AdaptiveLimitOptions> = {}) {
    this.options = { ...DEFAULT_ADAPTIVE_LIMIT, ...options };
    this.value = this.options.initial;
  }

  /** Calls that may be in flight at once. */
  get limit(): number {
    return Math.max(this.options.min, Math.floor(this.value));
  }

  /** The latency a call of `operation` should stay within, or Infinity before any was measured. */
  targetMs(operation: string): number {
    const baseline = this.baselines.get(operation)?.value ?? Infinity;
    return baseline * this.options.tolerance + this.options.toleranceMs;
  }

  /** Learns from one finished call; returns true when the limit changed. */
  record(call: CallStart, outcome: CallOutcome, now: number): boolean {
    const before = this.limit;
    if (outcome.kind === 'drop') {
      this.cut(call, CUT_ON_DROP, now);
    } else if (outcome.kind === 'ok') {
      const target = this.targetMs(call.operation);
      this.baselineOf(call.operation, now).add(outcome.latencyMs, now);
      if (outcome.latencyMs > target) this.cut(call, CUT_ON_SLOW, now);
      else this.grow(call);
    }
    return this.limit !== before;
  }

  private baselineOf(operation: string, now: number): Baseline {
    let baseline = this.baselines.get(operation);
    if (!baseline) {
      baseline = new Baseline(now, this.options.baselineWindowMs);
      this.baselines.set(operation, baseline);
    }
    return baseline;
  }

  /** Grows only when the limit was being used: calls that never fill it say nothing about a higher one. */
  private grow(call: CallStart): void {
    if (call.inFlight * 2 < this.limit) return;
    this.value = Math.min(this.options.max, this.value + 1 / this.value);
  }

  private cut(call: CallStart, factor: number, now: number): void {
    if (call.startedAt <= this.lastCutAt) return;
    this.value = Math.max(this.options.min, this.value * factor);
    this.lastCutAt = now;
  }
}
