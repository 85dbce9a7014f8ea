import { proxyActivities } from '@temporalio/workflow';
import type { MaintenanceActivities, RetentionInput } from '../activities/retain-data';
import type { Config } from '../config';

/** The maintenance runs' own task queue: only workers with the schema owner's connection poll it. */
export const maintenanceTaskQueue = (config: Pick<Config, 'TEMPORAL_TASK_QUEUE'>) =>
  `${config.TEMPORAL_TASK_QUEUE}-maintenance`;

/**
 * A run repeats safely (what it removed is gone, the rest it removes now), so a failed attempt is tried again a
 * few times; dropping months and shredding may take long on a large table, hence the generous timeout.
 */
const { retainData } = proxyActivities<MaintenanceActivities>({
  startToCloseTimeout: '1 hour',
  retry: { initialInterval: '1 minute', backoffCoefficient: 2, maximumAttempts: 3 },
});

/** One retention run (a Temporal Schedule starts it: `npm run schedule -- create-retention`); returns its report. */
export async function retentionRun(input: RetentionInput) {
  return retainData(input);
}
