import type { Pool } from 'pg';
import { migrate } from '../db/migrate';
import { applyRetention, type RetentionReport } from '../pii/retention';

export interface RetentionInput {
  keepDays: number;
  /** Who the audit row names: the schedule that started the run. */
  actor: string;
}

/**
 * What the maintenance worker runs (`npm run worker -- --maintenance`), with the schema owner's connection, which
 * pipeline workers never hold: the partitions' upkeep, then retention, as `npm run retention` does them.
 */
export function createMaintenanceActivities(pool: Pool) {
  return {
    async retainData(input: RetentionInput): Promise<RetentionReport> {
      await migrate(pool);
      return applyRetention(pool, { keepDays: input.keepDays, dryRun: false, actor: input.actor });
    },
  };
}

export type MaintenanceActivities = ReturnType<typeof createMaintenanceActivities>;
