import { NativeConnection, Worker, type WorkflowBundleOption } from '@temporalio/worker';
import { createActivities, type ActivityDeps } from '../activities';
import type { Config } from '../config';
import { connectionError, temporalConnectionOptions } from './connection-options';
import { createDataConverter } from './data-converter';
import { installTemporalRuntime } from './runtime';
import { bundleWorkflowsApart } from './workflow-bundle';

/** A stopping worker exits within WORKER_SHUTDOWN_FORCE of SIGTERM (see README, Reliability). */
export const WORKER_SHUTDOWN_GRACE = '10 seconds';
export const WORKER_SHUTDOWN_FORCE = '20 seconds';

export interface PipelineWorkerOptions {
  config: Config;
  deps: ActivityDeps;
  connection?: NativeConnection;
  /** A prebuilt bundle (tests share one); by default the workflows are bundled at start, in a child process. */
  workflowBundle?: WorkflowBundleOption;
  identity?: string;
}

async function connectWorker(config: Config): Promise<NativeConnection> {
  const options = temporalConnectionOptions(config);
  return NativeConnection.connect(options).catch((error: unknown) => {
    throw connectionError(options, error);
  });
}

/** The pipeline's worker: the drain workflow and the four activities, on the configured task queue. */
export async function createPipelineWorker(options: PipelineWorkerOptions): Promise<Worker> {
  installTemporalRuntime({ metricsAddress: options.config.metricsAddress, logLevel: options.config.LOG_LEVEL });
  const connection = options.connection ?? (await connectWorker(options.config));
  return Worker.create({
    connection,
    namespace: options.config.TEMPORAL_NAMESPACE,
    taskQueue: options.config.TEMPORAL_TASK_QUEUE,
    ...(options.identity ? { identity: options.identity } : {}),
    dataConverter: createDataConverter(options.deps.keyring),
    // On SIGTERM: short activities finish; a receive still long-polling is cancelled and hands its messages back.
    shutdownGraceTime: WORKER_SHUTDOWN_GRACE,
    shutdownForceTime: WORKER_SHUTDOWN_FORCE,
    activities: createActivities(options.deps),
    workflowBundle: options.workflowBundle ?? { code: await bundleWorkflowsApart() },
  });
}
