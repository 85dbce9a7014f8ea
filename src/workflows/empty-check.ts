import type { QueueDepth } from '../sqs';
import type { DrainOptions } from './drain-options';

/** Zero counts must be read at least this often, over the confirmation window, before a queue counts as empty. */
const MIN_ZERO_READS = 2;

/**
 * When an until-empty drain's queue is empty, from the empty receives it sees and the counts read after each.
 * SQS's counts are approximate and lag (a message sent a moment ago may not be counted yet), so, as AWS advises,
 * they must read zero repeatedly over a confirmation window. Messages in flight elsewhere (a batch lost with its worker) are waited for, up to their lease.
 * Pure: the workflow passes its own clock.
 */
export class EmptyCheck {
  private emptySince: number | undefined;
  private zeroSince: number | undefined;
  private zeroReads = 0;

  constructor(
    private readonly options: Pick<
      DrainOptions,
      'visibilityTimeoutSeconds' | 'emptyGraceSeconds' | 'emptyConfirmSeconds'
    >,
  ) {}

  /** A receive brought messages: the queue is not empty. */
  received(): void {
    this.emptySince = undefined;
    this.zeroSince = undefined;
    this.zeroReads = 0;
  }

  /** A receive brought nothing; `depth` was read after it. True when the queue counts as empty. */
  isEmptyAfter(depth: QueueDepth | undefined, now: number): boolean {
    this.emptySince ??= now;
    const zero = depth !== undefined && depth.visible + depth.inFlight + depth.delayed === 0;
    if (zero) {
      this.zeroSince ??= now;
      this.zeroReads++;
      if (this.zeroReads >= MIN_ZERO_READS && now - this.zeroSince >= this.options.emptyConfirmSeconds * 1000) {
        return true;
      }
    } else {
      this.zeroSince = undefined;
      this.zeroReads = 0;
    }
    return now - this.emptySince > (this.options.visibilityTimeoutSeconds + this.options.emptyGraceSeconds) * 1000;
  }
}
