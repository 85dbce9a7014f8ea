import {
  ApplicationFailure,
  defineQuery,
  defineSignal,
  log,
  makeContinueAsNewFunc,
  setHandler,
} from '@temporalio/workflow';
import { FAILURE_TYPES } from '../core/failure-types';
import { isRefusedPayload } from '../core/refused-payload';
import {
  resolveDrainOptions,
  statsSentence,
  type DrainControl,
  type DrainInput,
  type DrainOptions,
  type DrainStats,
} from './drain-options';
import { DrainRun } from './drain-run';

export const statsQuery = defineQuery<DrainStats>('stats');
export const controlQuery = defineQuery<DrainControl>('control');
/** No new batch starts until `resume`; batches in flight finish. */
export const pauseSignal = defineSignal('pause');
export const resumeSignal = defineSignal('resume');
/** The batches in flight finish, then the drain completes with its totals. */
export const stopSignal = defineSignal('stop');

/**
 * Drains the login queue: receive → mask → load → delete, with `concurrency` batches in flight (drain-run.ts). A
 * message is deleted only after its row or quarantine record is committed, so a crash anywhere leaves it to be
 * received again, and the load's ON CONFLICT turns the redelivery into a counted duplicate. Before continuing as
 * new, the batches in flight finish, so no batch spans two runs. A batch that fails after its retries (a quarter
 * of an hour of outage, or a failure no retry mends) fails the drain, loudly, once the other batches in flight are
 * done: its messages come back to the next drain.
 *
 * Changes to what it does are recorded and replayed (docs/design.md, "Changing the workflow"; test/replay/).
 */
export async function drainQueue(input: DrainInput = {}): Promise<DrainStats> {
  const run = new DrainRun(validOptions(input), input);
  setHandler(statsQuery, () => run.stats);
  setHandler(controlQuery, () => run.control);
  setHandler(pauseSignal, () => run.setControl({ paused: true }));
  setHandler(resumeSignal, () => run.setControl({ paused: false }));
  setHandler(stopSignal, () => run.setControl({ stopping: true }));

  const outcome = await run.run();
  if (run.failure) {
    run.publish('failed');
    log.error('the drain failed: a batch failed after its retries', { batch: run.failure.batch, ...run.stats });
    // Its messages were not deleted: they come back after their visibility timeout, for the next drain.
    throw ApplicationFailure.create({
      type: FAILURE_TYPES.batchFailed,
      message: `batch ${run.failure.batch} failed after its retries; the batches in flight finished (${statsSentence(run.stats)})`,
      nonRetryable: true,
      cause: run.failure.error as Error,
      details: [run.stats],
    });
  }
  if (outcome === 'continue-as-new') {
    log.info('continuing as new', { ...run.stats });
    // The next run's first task goes to the deployment's current build; the run is then pinned to that build.
    await makeContinueAsNewFunc<typeof drainQueue>({ initialVersioningBehavior: 'AUTO_UPGRADE' })({
      options: run.options,
      stats: { ...run.stats, runs: run.stats.runs + 1 },
      paused: run.control.paused,
    });
  }
  run.publish(outcome === 'stopped' ? 'stopped' : 'drained');
  log.info(outcome === 'stopped' ? 'stopped' : 'drained', { ...run.stats });
  return run.stats;
}

/** Bad options fail the workflow at once; thrown as a plain error they would retry its first task forever. */
function validOptions(input: DrainInput): DrainOptions {
  if (isRefusedPayload(input)) {
    throw ApplicationFailure.nonRetryable(
      'the drain input came unencrypted and was refused: start drains with npm run start-workflow or schedule',
      FAILURE_TYPES.invalidDrainOptions,
    );
  }
  try {
    return resolveDrainOptions(input.options);
  } catch (error) {
    throw ApplicationFailure.nonRetryable((error as Error).message, FAILURE_TYPES.invalidDrainOptions);
  }
}
