import { readFileSync } from 'node:fs';
import { temporal } from '@temporalio/proto';
import type { Config } from '../../src/config';
import { taskQueuePollers } from '../../src/drain';
import type { ScenarioContext } from './scenarios';

/** Worker log lines quoted in a stall report: enough for the last error, short enough to read in CI output. */
const WORKER_LOG_LINES = 12;

/**
 * What a scenario that outlived its deadline was waiting for: how far the drain got, each workflow's state and
 * pending activities (attempts, last failure), who polls the task queue, how the workers ended, and the workers'
 * last log lines (already redacted by the workers' logger). Every part is best effort: the stack may be half down.
 */
export async function stallReport(
  ctx: ScenarioContext,
  config: Pick<Config, 'TEMPORAL_TASK_QUEUE' | 'TEMPORAL_NAMESPACE'>,
  progress: () => Promise<number>,
): Promise<string> {
  const lines = [
    `committed ${await progress().catch(() => '?')} of ${ctx.messages} messages`,
    `workers: ${ctx.workers.count} running of ${ctx.workers.started} started; ended: ${ctx.workers.exits.join(', ') || 'none'}`,
  ];
  const pollers = async (kind: 'workflow' | 'activity') =>
    taskQueuePollers(ctx.client, config, kind).then(
      (identities) => String(identities.size),
      (error: unknown) => `unknown (${error instanceof Error ? error.message : String(error)})`,
    );
  lines.push(`task queue pollers: workflow ${await pollers('workflow')}, activity ${await pollers('activity')}`);
  for (const workflowId of ctx.workflowIds) {
    try {
      const { status, historyLength, raw } = await ctx.client.workflow.getHandle(workflowId).describe();
      lines.push(`${workflowId}: ${status.name}, ${historyLength} events`);
      for (const activity of raw.pendingActivities ?? []) {
        const failure = activity.lastFailure?.message ? `, last failure: ${activity.lastFailure.message}` : '';
        lines.push(
          `  pending ${activity.activityId} (${temporal.api.enums.v1.PendingActivityState[activity.state ?? 0]}, attempt ${activity.attempt}${failure})`,
        );
      }
    } catch (error) {
      lines.push(`${workflowId}: not described (${error instanceof Error ? error.message : String(error)})`);
    }
  }
  const workerLog = readFileSync(ctx.workers.logFile, 'utf8').trimEnd().split('\n').slice(-WORKER_LOG_LINES);
  lines.push('last worker log lines:', ...workerLog.map((line) => `  ${line}`));
  return lines.join('\n');
}
