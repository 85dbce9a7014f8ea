import { setMaxListeners } from 'node:events';
import type { MetricCounter, MetricGauge, MetricHistogram, MetricMeter } from '@temporalio/common';
import type { ServiceInputTypes, ServiceOutputTypes, SQSClient } from '@aws-sdk/client-sqs';
import type { FinalizeRequestMiddleware } from '@smithy/types';
import { PIPELINE_METRICS } from '../metrics';
import { AdaptiveLimit, type AdaptiveLimitOptions, type CallStart } from './adaptive-limit';

/**
 * Which calls go first when the limit is reached: a lease renewal that waits can cost a duplicate, a receive that
 * waits costs nothing but time.
 */
const SQS_PRIORITIES = ['lease', 'hand-back', 'delete', 'attributes', 'receive'] as const;
export type SqsPriority = (typeof SQS_PRIORITIES)[number];

/** Why a call is tried again; each cuts the limit. */
export type DropReason = 'throttled' | 'timeout' | 'connection' | 'server-error';

const THROTTLING_CODES = new Set([
  'ThrottlingException',
  'Throttling',
  'RequestThrottled',
  'RequestThrottledException',
  'TooManyRequestsException',
  'OverLimit',
  'SlowDown',
  'RequestLimitExceeded',
]);
const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH']);

/** What kind of drop an error is, or undefined when retrying cannot help (the request itself is wrong). */
export function dropReason(error: unknown): DropReason | undefined {
  const e = error as {
    name?: string;
    code?: string;
    message?: string;
    $metadata?: { httpStatusCode?: number };
    $retryable?: { throttling?: boolean };
  };
  const status = e.$metadata?.httpStatusCode;
  if (THROTTLING_CODES.has(e.name ?? '') || e.$retryable?.throttling || status === 429) return 'throttled';
  if (e.name === 'TimeoutError' || e.name === 'RequestTimeout' || e.code === 'ETIMEDOUT') return 'timeout';
  if (CONNECTION_CODES.has(e.code ?? '') || /socket hang up|ECONNRESET|ECONNREFUSED/.test(e.message ?? '')) {
    return 'connection';
  }
  if (status !== undefined && status >= 500) return 'server-error';
  return undefined;
}

/** Attempts of one call, the first included, before its error reaches the caller (whose own retries take over). */
export const MAX_ATTEMPTS = 6;
const BACKOFF_BASE_MS = 100;
const BACKOFF_CAP_MS = 5_000;

/** Full jitter (AWS's advice): a random wait up to an exponentially growing bound, so retries do not move in step. */
export const backoffMs = (attempt: number, random = Math.random): number =>
  random() * Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** (attempt - 1));

/** Weight of the newest latency in the running averages that size batches. */
const LATENCY_SMOOTHING = 0.1;

/** The calls a batch is made of: their pace, not that of a queue's URL or attributes, says how long a batch takes. */
const BATCH_OPERATIONS = ['ReceiveMessage', 'DeleteMessageBatch', 'ChangeMessageVisibilityBatch'];

interface Waiter {
  priority: number;
  sequence: number;
  admit: () => void;
}

/**
 * One per SQS client, hence one per worker: every call of the client waits here for a place under the adaptive
 * limit (higher priorities first), is timed, and on a drop is cut back and tried again after a jittered backoff.
 * It also says how many calls a second the server is taking, so receives can size their batches to it.
 */
export class SqsGate {
  readonly limit: AdaptiveLimit;
  private inFlight = 0;
  private sequence = 0;
  private readonly waiting: Waiter[] = [];
  /** Running average latency of each of BATCH_OPERATIONS measured so far (ms). */
  private readonly latencyMs = new Map<string, number>();
  /** Made once, when the worker hands the gate its meter: each call records into them. */
  private metrics:
    | {
        limit: MetricGauge;
        callDuration: MetricHistogram;
        throttles: MetricCounter;
        retries: MetricCounter;
        /** The call duration with each operation's tag bound once: a tag object per call costs the hot path. */
        durationOf: Map<string, MetricHistogram>;
      }
    | undefined;

  constructor(options: Partial<AdaptiveLimitOptions> = {}) {
    this.limit = new AdaptiveLimit(options);
  }

  /** Sends the gate's metrics to `meter` from now on; the worker calls it once the Temporal runtime serves them. */
  useMeter(meter: MetricMeter): void {
    const { sqsLimit, sqsCallDuration, sqsThrottles, sqsRetries } = PIPELINE_METRICS;
    this.metrics = {
      limit: meter.createGauge(sqsLimit.name, 'int', 'calls', sqsLimit.help),
      callDuration: meter.createHistogram(sqsCallDuration.name, 'float', 's', sqsCallDuration.help),
      throttles: meter.createCounter(sqsThrottles.name, 'calls', sqsThrottles.help),
      retries: meter.createCounter(sqsRetries.name, 'calls', sqsRetries.help),
      durationOf: new Map(),
    };
    this.metrics.limit.set(this.limit.limit);
  }

  /** Calls are waiting for a place: the server is taking all the calls the limit allows. */
  get saturated(): boolean {
    return this.waiting.length > 0;
  }

  /** A batch operation's latency has been measured: until then the server's pace is unknown. */
  get measured(): boolean {
    return this.latencyMs.size > 0;
  }

  /**
   * Batch operations a second the server has been answering at the current limit, at the pace of the slowest of
   * them; Infinity before any was measured.
   */
  callsPerSecond(): number {
    return this.measured ? (this.limit.limit * 1000) / Math.max(...this.latencyMs.values()) : Infinity;
  }

  /** Runs one SQS call under the limit, retrying drops; `call` is one attempt. */
  async run<T>(
    operation: string,
    priority: SqsPriority,
    call: () => Promise<T>,
    options: { signal?: AbortSignal; measured?: boolean } = {},
  ): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      await this.admit(SQS_PRIORITIES.indexOf(priority), options.signal);
      const start: CallStart = { operation, startedAt: Date.now(), inFlight: this.inFlight };
      try {
        const result = await call();
        const latencyMs = Date.now() - start.startedAt;
        this.learn(start, options.measured === false ? { kind: 'ok-unmeasured' } : { kind: 'ok', latencyMs });
        this.recordDuration(operation, latencyMs);
        return result;
      } catch (error) {
        const reason = options.signal?.aborted ? undefined : dropReason(error);
        this.learn(start, reason ? { kind: 'drop' } : { kind: 'ok-unmeasured' });
        if (!reason || attempt === MAX_ATTEMPTS) throw error;
        if (reason === 'throttled') this.metrics?.throttles.add(1, { operation });
        this.metrics?.retries.add(1, { operation, reason });
      } finally {
        this.leave();
      }
      await sleep(backoffMs(attempt), options.signal);
    }
  }

  private recordDuration(operation: string, latencyMs: number): void {
    if (!this.metrics) return;
    let histogram = this.metrics.durationOf.get(operation);
    if (!histogram) {
      histogram = this.metrics.callDuration.withTags({ operation });
      this.metrics.durationOf.set(operation, histogram);
    }
    histogram.record(latencyMs / 1000);
  }

  private learn(start: CallStart, outcome: Parameters<AdaptiveLimit['record']>[1]): void {
    if (outcome.kind === 'ok' && BATCH_OPERATIONS.includes(start.operation)) {
      const average = this.latencyMs.get(start.operation) ?? outcome.latencyMs;
      this.latencyMs.set(start.operation, average + LATENCY_SMOOTHING * (outcome.latencyMs - average));
    }
    if (this.limit.record(start, outcome, Date.now())) {
      this.metrics?.limit.set(this.limit.limit);
      this.wake();
    }
  }

  private admit(priority: number, signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    if (this.inFlight < this.limit.limit && !this.waiting.some((waiter) => waiter.priority <= priority)) {
      this.inFlight++;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        priority,
        sequence: this.sequence++,
        admit: () => {
          signal?.removeEventListener('abort', onAbort);
          this.inFlight++;
          resolve();
        },
      };
      const onAbort = () => {
        this.waiting.splice(this.waiting.indexOf(waiter), 1);
        reject(signal!.reason as Error);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      const at = this.waiting.findIndex((other) => other.priority > priority);
      this.waiting.splice(at === -1 ? this.waiting.length : at, 0, waiter);
    });
  }

  private leave(): void {
    this.inFlight--;
    this.wake();
  }

  private wake(): void {
    while (this.inFlight < this.limit.limit && this.waiting.length > 0) this.waiting.shift()!.admit();
  }
}

/** Resolves after `ms`, or rejects with the signal's reason when it aborts first (and leaves no listener behind). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason as Error);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** The commands' fields the gate reads to place a call. */
interface CommandInput {
  WaitTimeSeconds?: number;
  VisibilityTimeout?: number;
  Entries?: { VisibilityTimeout?: number }[];
}

/** A call's priority, from its command: a visibility change to 0 hands messages back, any other renews a lease. */
export function priorityOf(commandName: string, input: CommandInput): SqsPriority {
  if (commandName.startsWith('ChangeMessageVisibility')) {
    const timeouts = input.Entries?.map((entry) => entry.VisibilityTimeout) ?? [input.VisibilityTimeout];
    return timeouts.every((seconds) => seconds === 0) ? 'hand-back' : 'lease';
  }
  if (commandName.startsWith('DeleteMessage')) return 'delete';
  if (commandName === 'ReceiveMessageCommand') return 'receive';
  return 'attributes';
}

const SMITHY_CONTEXT_KEY = '__smithy_context';

/**
 * Puts the gate in the client's middleware, inside the SDK's own retry (which the client turns off), so each attempt
 * is signed afresh and every command of the client passes the gate: nothing at the call sites changes.
 */
export function applyGate(client: SQSClient, gate: SqsGate): void {
  const middleware: FinalizeRequestMiddleware<ServiceInputTypes, ServiceOutputTypes> = (next, context) => (args) => {
    const smithy = (context as Record<string, unknown>)[SMITHY_CONTEXT_KEY] as
      { commandInstance?: { input?: CommandInput }; abortSignal?: AbortSignal } | undefined;
    const input = smithy?.commandInstance?.input ?? {};
    const commandName = context.commandName ?? 'unknown';
    return gate.run(commandName.replace(/Command$/, ''), priorityOf(commandName, input), () => next(args), {
      signal: smithy?.abortSignal,
      // A long poll's wait says nothing of the server's load.
      measured: !(commandName === 'ReceiveMessageCommand' && (input.WaitTimeSeconds ?? 0) > 0),
    });
  };
  // Relative to the retry middleware, it takes that one's step (finalizeRequest).
  client.middlewareStack.addRelativeTo(middleware, {
    name: 'loginEtlSqsGate',
    relation: 'after',
    toMiddleware: 'retryMiddleware',
  });
}

const sharedSignals = new WeakMap<AbortSignal, AbortSignal>();

/**
 * A signal that aborts with `signal`, for many calls at once: each call in flight listens to it, and one activity
 * can have more of them than Node's default of 10 listeners before it warns.
 */
export function sharedSignal(signal: AbortSignal): AbortSignal {
  let shared = sharedSignals.get(signal);
  if (!shared) {
    const controller = new AbortController();
    setMaxListeners(0, controller.signal);
    if (signal.aborted) controller.abort(signal.reason);
    else signal.addEventListener('abort', () => controller.abort(signal.reason), { once: true });
    shared = controller.signal;
    sharedSignals.set(signal, shared);
  }
  return shared;
}
