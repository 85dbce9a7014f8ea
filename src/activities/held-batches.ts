import type { SQSClient } from '@aws-sdk/client-sqs';
import { ApplicationFailure } from '@temporalio/common';
import { randomBytes, randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { getHeapStatistics } from 'node:v8';
import { FAILURE_TYPES } from '../core/failure-types';
import type { DeleteEntry, ReceivedMessage, TransformedBatch } from '../core/types';
import { createLogger } from '../log';
import { changeVisibility } from '../sqs';

const log = createLogger('held-batches');

/**
 * A batch between its steps, kept in the memory of the worker that received it: the claim check's store. Workflow
 * history carries only its id; the steps run on this worker's own task queue, so they find it here.
 */
export interface HeldBatch {
  readonly id: string;
  readonly queueUrl: string;
  /**
   * Raw messages until loaded, then dropped: a batch that finds a newer key version at load is masked again from
   * them (the worker cannot open what it sealed to the operator key).
   */
  messages?: ReceivedMessage[];
  transformed?: TransformedBatch;
  /** Message ids and receipt handles, for the lease and the delete. */
  readonly entries: readonly DeleteEntry[];
  /** When the lease runs out unless renewed (epoch ms): a delete after it may be a silent no-op on SQS. */
  leaseEndsAt: number;
  /** Receipt handles whose renewal SQS refused: those messages may have been received again elsewhere. */
  readonly lostLeases: Set<string>;
  /** Receipt handles already deleted: a renewal during a slow delete leaves them out (SQS would refuse them). */
  readonly deleted: Set<string>;
  /** When its receive began (epoch ms): how long batches take sets the lease of the next ones. */
  readonly receivedAt: number;
  /** What it counts against the worker's memory cap (HELD_BYTES_PER_PAYLOAD_BYTE times its payload bytes). */
  readonly heldBytes: number;
}

export interface HoldTerms {
  /** How long SQS hides the messages at a time; renewed every third of it while the batch is held. */
  leaseSeconds: number;
  /** After this the batch is given up: its messages are made visible again and its steps fail as lost. */
  holdSeconds: number;
}

/** A share of the worker's memory kept for a receive that is filling a batch; released once the batch is held. */
export interface Reservation {
  /** Payload bytes the receive may take. */
  readonly payloadBytes: number;
  release(): void;
}

/**
 * Memory a held batch takes per byte of its payload: the raw messages, their masked rows or sealed bodies, and the
 * load's parameters while it runs (the large-bodies fault scenario measures it).
 */
export const HELD_BYTES_PER_PAYLOAD_BYTE = 4;
/** The share of the heap's limit that held batches may take together; the rest is the worker's own. */
const HELD_SHARE_OF_HEAP = 0.5;
/** The most a receive waits for memory before it fails (and is retried, perhaps by another worker). */
const RESERVATION_WAIT_MS = 30_000;

/** Leases last this many times the longest time a recent batch took, so a renewal stays rare. */
const LEASE_PER_BATCH_TIME = 4;
/** SQS's longest visibility timeout. */
const MAX_LEASE_SECONDS = 12 * 3600;
/** Batches whose time the lease follows. */
const RECENT_BATCHES = 20;

interface Holding {
  batch: HeldBatch;
  renewal: NodeJS.Timeout;
  expiry: NodeJS.Timeout;
  /** When a step last asked for the batch. */
  touched: number;
  /** A renewal is under way: the next one waits for it (on a slow SQS, renewals would pile up and starve deletes). */
  renewing: boolean;
}

/**
 * A batch no step has asked for in this long is orphaned (its receive's result never reached the workflow) and is
 * given up. Steps come well within it: a retried load asks at least every 30 s backoff plus a 1-minute attempt.
 */
const IDLE_LIMIT_MS = 3 * 60_000;

/** The task queue only this worker process polls; a restarted worker gets a new one, so it never sees old ids. */
export const heldBatchTaskQueue = (taskQueue: string): string =>
  `${taskQueue}/held/${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;

/**
 * Batches held by this worker, each under a visibility lease it keeps renewing. A worker that dies renews nothing:
 * its messages are visible again within one lease, and the workflow counts the batch as lost.
 */
export class HeldBatches {
  private readonly held = new Map<string, Holding>();
  /** Bytes of held batches and of reservations, against `capBytes`. */
  private bytes = 0;
  private readonly waitingForMemory = new Set<() => void>();
  /** How long recent batches took from receive to release, in ms. */
  private readonly recentBatchMs: number[] = [];

  constructor(
    private readonly sqs: SQSClient,
    readonly taskQueue: string,
    /** @default half the heap's limit */
    readonly capBytes = getHeapStatistics().heap_size_limit * HELD_SHARE_OF_HEAP,
  ) {}

  get size(): number {
    return this.held.size;
  }

  /** Messages in the batches held now. */
  get messages(): number {
    let count = 0;
    for (const { batch } of this.held.values()) count += batch.entries.length;
    return count;
  }

  /**
   * The lease for a new batch: the one asked for, or longer when batches have lately taken long, or when SQS's pace
   * says they will (`paceSeconds`: how long the calls of the batches held now would take it), so that renewing
   * leases stays a small share of the calls.
   */
  leaseFor(requestedSeconds: number, paceSeconds = 0): number {
    const longest = Math.max(paceSeconds * 1000, ...this.recentBatchMs);
    return Math.max(requestedSeconds, Math.min(MAX_LEASE_SECONDS, Math.ceil((LEASE_PER_BATCH_TIME * longest) / 1000)));
  }

  /**
   * Memory for a receive of up to `maxPayloadBytes`: what is free under the cap, waited for (up to
   * RESERVATION_WAIT_MS) when less than one message of the largest kind is; so a worker holding many batches of
   * large bodies receives less, or later, instead of running out of heap.
   */
  async reserve(maxPayloadBytes: number, minPayloadBytes: number, signal?: AbortSignal): Promise<Reservation> {
    const needed = Math.min(maxPayloadBytes, minPayloadBytes) * HELD_BYTES_PER_PAYLOAD_BYTE;
    const deadline = Date.now() + RESERVATION_WAIT_MS;
    while (this.capBytes - this.bytes < needed) {
      signal?.throwIfAborted();
      if (Date.now() >= deadline) {
        throw ApplicationFailure.retryable(
          `this worker holds batches up to its memory cap (${Math.round(this.capBytes / 2 ** 20)} MiB)`,
          FAILURE_TYPES.memoryCap,
        );
      }
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          this.waitingForMemory.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, 1_000);
        this.waitingForMemory.add(wake);
      });
    }
    const bytes = Math.min(maxPayloadBytes * HELD_BYTES_PER_PAYLOAD_BYTE, this.capBytes - this.bytes);
    this.bytes += bytes;
    let released = false;
    return {
      payloadBytes: Math.floor(bytes / HELD_BYTES_PER_PAYLOAD_BYTE),
      release: () => {
        if (released) return;
        released = true;
        this.free(bytes);
      },
    };
  }

  private free(bytes: number): void {
    this.bytes -= bytes;
    for (const wake of this.waitingForMemory) wake();
  }

  /**
   * Holds received messages of `payloadBytes` in all; `receivedAt` is when their receive began, so their lease
   * counts from then.
   */
  hold(
    queueUrl: string,
    messages: ReceivedMessage[],
    terms: HoldTerms,
    receivedAt = Date.now(),
    payloadBytes = 0,
  ): HeldBatch {
    const batch: HeldBatch = {
      id: randomUUID(),
      queueUrl,
      messages,
      entries: messages.map(({ messageId, receiptHandle }) => ({ messageId, receiptHandle })),
      leaseEndsAt: receivedAt + terms.leaseSeconds * 1000,
      lostLeases: new Set(),
      deleted: new Set(),
      receivedAt,
      heldBytes: payloadBytes * HELD_BYTES_PER_PAYLOAD_BYTE,
    };
    this.bytes += batch.heldBytes;
    const renewEvery = (terms.leaseSeconds * 1000) / 3;
    const renewal = setInterval(() => void this.renew(batch.id, terms.leaseSeconds), renewEvery).unref();
    const expiry = setTimeout(() => void this.giveUp(batch.id, 'held past its limit'), terms.holdSeconds * 1000);
    this.held.set(batch.id, { batch, renewal, expiry: expiry.unref(), touched: Date.now(), renewing: false });
    return batch;
  }

  /** The batch, or a non-retryable failure the workflow reads as a lost batch. */
  get(id: string): HeldBatch {
    const holding = this.held.get(id);
    if (!holding) {
      throw ApplicationFailure.nonRetryable(`batch ${id} is not held by this worker`, FAILURE_TYPES.batchNotHeld);
    }
    holding.touched = Date.now();
    return holding.batch;
  }

  /** The batch's masked form, which its load and delete need; only after its mask. */
  masked(id: string): TransformedBatch {
    const { transformed } = this.get(id);
    if (!transformed) throw ApplicationFailure.nonRetryable(`batch ${id} was not masked`, FAILURE_TYPES.batchNotHeld);
    return transformed;
  }

  /** Done with the batch (its messages are deleted): stop renewing and forget it. */
  release(id: string): void {
    const holding = this.forget(id);
    if (!holding) return;
    this.recentBatchMs.push(Date.now() - holding.batch.receivedAt);
    if (this.recentBatchMs.length > RECENT_BATCHES) this.recentBatchMs.shift();
  }

  private forget(id: string): Holding | undefined {
    const holding = this.held.get(id);
    if (!holding) return undefined;
    clearInterval(holding.renewal);
    clearTimeout(holding.expiry);
    this.held.delete(id);
    this.free(holding.batch.heldBytes);
    return holding;
  }

  /** Hands every held batch back to the queue at once, as a stopping worker does. */
  async giveUpAll(reason: string): Promise<void> {
    await Promise.all([...this.held.keys()].map((id) => this.giveUp(id, reason)));
  }

  private async giveUp(id: string, reason: string): Promise<void> {
    const holding = this.forget(id);
    if (!holding) return;
    const { batch } = holding;
    log.warn('batch given up: its messages are visible again', { batch: id, count: batch.entries.length, reason });
    await this.setVisibility(batch, 0).catch((error: unknown) =>
      log.warn('could not hand the batch back; its lease runs out instead', { batch: id, error: String(error) }),
    );
  }

  private async renew(id: string, leaseSeconds: number): Promise<void> {
    const holding = this.held.get(id);
    if (!holding) return;
    if (Date.now() - holding.touched > IDLE_LIMIT_MS) return this.giveUp(id, 'no step asked for it');
    if (holding.renewing) return;
    holding.renewing = true;
    const { batch } = holding;
    const renewedAt = Date.now();
    try {
      const refused = await this.setVisibility(batch, leaseSeconds);
      batch.leaseEndsAt = renewedAt + leaseSeconds * 1000;
      // A handle SQS no longer takes belongs to a message received again elsewhere: its delete here counts as stale.
      for (const receiptHandle of refused) batch.lostLeases.add(receiptHandle);
      if (refused.length > 0) log.warn('lease lost for some messages', { batch: batch.id, refused: refused.length });
    } catch (error) {
      log.warn('lease renewal failed; retried at the next renewal', { batch: batch.id, error: String(error) });
    } finally {
      holding.renewing = false;
    }
  }

  /** Sets the visibility timeout of the batch's messages not yet deleted; returns the receipt handles SQS refused. */
  private setVisibility(batch: HeldBatch, seconds: number): Promise<string[]> {
    const receiptHandles = batch.entries
      .map((entry) => entry.receiptHandle)
      .filter((receiptHandle) => !batch.deleted.has(receiptHandle));
    return changeVisibility(this.sqs, batch.queueUrl, receiptHandles, seconds);
  }
}
