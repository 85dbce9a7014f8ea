import { ScheduleOverlapPolicy, type Client, type ScheduleDescription, type ScheduleSpec } from '@temporalio/client';
import type { Config } from './config';
import { drainQueue, retentionRun } from './workflows';
import { maintenanceTaskQueue } from './workflows/retain-data';
import { drainStartOptions } from './drain';
import type { DrainOptions } from './workflows/drain-options';

export interface ScheduleRequest {
  scheduleId: string;
  /** An interval such as `5m` or `1h`, or a cron expression. */
  every?: string;
  cron?: string;
  options?: Partial<DrainOptions>;
  /** The longest one run of a scheduled drain may take (a Temporal duration such as `1h`). */
  runTimeout?: string;
}

/** Missed runs (the server was down) are taken only within this window after it comes back; older ones are skipped. */
const CATCHUP_WINDOW = '10 minutes';

/**
 * Each run of a scheduled drain ends by this time: with overlap SKIP, a run stuck for good would otherwise block
 * every later tick. A run takes at most 100 batches before it continues as new (minutes); its retries give up
 * after about a quarter of an hour. A run that times out leaves its batches in flight to their visibility timeout.
 */
const SCHEDULED_RUN_TIMEOUT = '1 hour';

/**
 * One schedule per drain id (`drain-<queue>-schedule`, or `drain-<queue>-<i>-schedule` for several drains), so
 * `--drains N` schedules N drains of one queue, each skipping its tick while its own previous run still goes on.
 */
export const scheduleIdOf = (drainId: string) => `${drainId}-schedule`;
const drainIdOf = (scheduleId: string) => scheduleId.replace(/-schedule$/, '');

/**
 * A Temporal Schedule that starts an until-empty drain at each tick. Overlap SKIP: while a drain still runs, the
 * next tick starts nothing, so two scheduled drains never run at once.
 */
export async function createDrainSchedule(
  client: Client,
  config: Pick<Config, 'TEMPORAL_TASK_QUEUE' | 'TEMPORAL_NAMESPACE' | 'SQS_QUEUE_NAME'>,
  request: ScheduleRequest,
) {
  const spec = specOf(request);
  const start = await drainStartOptions(client, config, { ...request.options, mode: 'until-empty' });
  return client.schedule.create({
    scheduleId: request.scheduleId,
    spec,
    action: {
      type: 'startWorkflow',
      workflowType: drainQueue,
      ...start,
      taskQueue: config.TEMPORAL_TASK_QUEUE,
      // The server appends the scheduled time to it, so each run has its own id.
      workflowId: `${drainIdOf(request.scheduleId)}-scheduled`,
      workflowRunTimeout: request.runTimeout ?? SCHEDULED_RUN_TIMEOUT,
    },
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: CATCHUP_WINDOW },
  });
}

/** When a schedule's runs start: an interval or a cron expression, exactly one of them. */
function specOf(request: Pick<ScheduleRequest, 'every' | 'cron'>): ScheduleSpec {
  if ((request.every === undefined) === (request.cron === undefined)) throw new Error('give one of --every and --cron');
  return request.every ? { intervals: [{ every: request.every }] } : { cronExpressions: [request.cron!] };
}

/** The retention schedule of the pipeline that drains this queue. */
export const retentionScheduleId = (config: Pick<Config, 'SQS_QUEUE_NAME'>) =>
  `retention-${config.SQS_QUEUE_NAME}-schedule`;

/** A run that takes longer is given up (and tried at the next tick): the deletes of a huge backlog, stuck locks. */
const RETENTION_RUN_TIMEOUT = '4 hours';

/**
 * A Temporal Schedule of retention runs (`npm run retention` as a workflow): on the maintenance task queue, which
 * only a worker with the schema owner's connection polls (`npm run worker -- --maintenance`); overlap SKIP, so
 * two runs never overlap. Each run's audit row names the schedule as its actor.
 */
export async function createRetentionSchedule(
  client: Client,
  config: Pick<Config, 'TEMPORAL_TASK_QUEUE'>,
  request: Pick<ScheduleRequest, 'scheduleId' | 'every' | 'cron'> & { keepDays: number },
) {
  return client.schedule.create({
    scheduleId: request.scheduleId,
    spec: specOf(request),
    action: {
      type: 'startWorkflow',
      workflowType: retentionRun,
      args: [{ keepDays: request.keepDays, actor: `schedule ${request.scheduleId}` }],
      taskQueue: maintenanceTaskQueue(config),
      workflowId: `${request.scheduleId.replace(/-schedule$/, '')}-run`,
      workflowRunTimeout: RETENTION_RUN_TIMEOUT,
    },
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: CATCHUP_WINDOW },
  });
}

/** One line per schedule property an operator looks for. */
export function describeSchedule(description: ScheduleDescription): string {
  const { spec, state, info } = description;
  // Intervals come back in milliseconds; a cron expression comes back as the calendar rule the server made of it.
  const every = spec.intervals?.map((interval) => `every ${Number(interval.every) / 1000} s`) ?? [];
  const calendars = spec.calendars?.map((calendar) => `calendar ${JSON.stringify(calendar)}`) ?? [];
  return [
    `schedule ${description.scheduleId}: ${[...every, ...calendars].join(', ') || 'no spec'}`,
    `state: ${state.paused ? `paused${state.note ? ` (${state.note})` : ''}` : 'active'}`,
    `overlap: ${description.policies.overlap}, catch-up window: ${description.policies.catchupWindow} ms, ` +
      `run timeout: ${runTimeoutOf(description)}`,
    `runs so far: ${info.numActionsTaken}, skipped as overlapping: ${info.numActionsSkippedOverlap}`,
    `running: ${info.runningActions.map((a) => a.workflow.workflowId).join(', ') || 'none'}`,
    `recent: ${info.recentActions.map((a) => `${a.scheduledAt.toISOString()} ${a.action.workflow.workflowId}`).join('; ') || 'none'}`,
    `next: ${
      info.nextActionTimes
        .slice(0, 3)
        .map((t) => t.toISOString())
        .join(', ') || 'none'
    }`,
  ].join('\n');
}

/** The server gives durations back in milliseconds. */
function runTimeoutOf({ action }: ScheduleDescription): string {
  if (action.type !== 'startWorkflow' || action.workflowRunTimeout === undefined) return 'none';
  return `${Number(action.workflowRunTimeout) / 1000} s`;
}
