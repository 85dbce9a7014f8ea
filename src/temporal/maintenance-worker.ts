import { Worker, type NativeConnection, type WorkflowBundleOption } from '@temporalio/worker';
import type { Pool } from 'pg';
import { createMaintenanceActivities } from '../activities/retain-data';
import type { Config } from '../config';
import type { Keyring } from '../core/keys';
import { loadPreviousCodecKeys } from '../secrets';
import { createDataConverter } from './data-converter';
import { installTemporalRuntime } from './runtime';
import { connectWorker, SHUTDOWN_TIMES } from './worker';
import { workflowCode } from './workflow-bundle';
import { maintenanceTaskQueue } from '../workflows/retain-data';

export interface MaintenanceWorkerOptions {
  config: Config;
  /** A pool as the role that owns the schema. */
  pool: Pool;
  keyring: Pick<Keyring, 'codec'>;
  connection?: NativeConnection;
  workflowBundle?: WorkflowBundleOption;
}

/**
 * The worker of scheduled retention runs. Unversioned: a run is one activity, so a new build replays any run in
 * flight unchanged.
 */
export async function createMaintenanceWorker(options: MaintenanceWorkerOptions): Promise<Worker> {
  installTemporalRuntime({ metricsAddress: options.config.metricsAddress, logLevel: options.config.LOG_LEVEL });
  return Worker.create({
    connection: options.connection ?? (await connectWorker(options.config)),
    namespace: options.config.TEMPORAL_NAMESPACE,
    taskQueue: maintenanceTaskQueue(options.config),
    activities: createMaintenanceActivities(options.pool),
    workflowBundle: options.workflowBundle ?? (await workflowCode()),
    dataConverter: createDataConverter(options.keyring, loadPreviousCodecKeys(options.config)),
    ...SHUTDOWN_TIMES,
  });
}
