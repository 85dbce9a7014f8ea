import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { NativeConnection, Runtime, Worker, type WorkflowBundleOption } from '@temporalio/worker';
import { createHeldActivities, createSharedActivities, type ActivityDeps } from '../activities';
import type { Config } from '../config';
import { createLogger } from '../log';
import { loadPreviousCodecKeys } from '../secrets';
import { connectionError, temporalConnectionOptions } from './connection-options';
import { createDataConverter } from './data-converter';
import { deploymentVersionOf, promoteIfNewest } from './deployment';
import { installTemporalRuntime } from './runtime';
import { workflowCode } from './workflow-bundle';

const log = createLogger('worker');

/** A stopping worker exits within shutdownForceTime of SIGTERM (see docs/design.md, Reliability). */
export const SHUTDOWN_TIMES = { shutdownGraceTime: '10 seconds', shutdownForceTime: '20 seconds' } as const;

export interface PipelineWorkerOptions {
  config: Config;
  deps: ActivityDeps;
  connection?: NativeConnection;
  /** A bundle of the workflow code (tests share one); by default the build's, or bundled at start (workflowCode). */
  workflowBundle?: WorkflowBundleOption;
  identity?: string;
  /** Where the SDK serves Prometheus metrics, when not `config.metricsAddress` (the worker's health endpoints front it). */
  metricsAddress?: string;
}

export async function connectWorker(config: Config): Promise<NativeConnection> {
  const options = temporalConnectionOptions(config);
  return NativeConnection.connect(options).catch((error: unknown) => {
    throw connectionError(options, error);
  });
}

/** The two Temporal workers of one pipeline worker process, run and stopped together. */
export interface PipelineWorker {
  /** Resolves once both have stopped; if one fails, the other is stopped too. */
  run(): Promise<void>;
  /** Stops polling; in-flight tasks finish within the shutdown grace time. */
  shutdown(): void;
  getState(): ReturnType<Worker['getState']>;
  /** The build id of this worker's deployment version; undefined when Worker Versioning is off. */
  buildId: string | undefined;
  /** Resolves when the Temporal frontend answers on this worker's connection (its readiness). */
  ping(signal: AbortSignal): Promise<unknown>;
}

/**
 * The pipeline's worker: on the configured task queue, the drain workflow and the receive (any worker may take a
 * batch); on a task queue of its own, the steps of the batches it received and holds (samples-typescript,
 * worker-specific-task-queues).
 */
export async function createPipelineWorker(options: PipelineWorkerOptions): Promise<PipelineWorker> {
  installTemporalRuntime({
    metricsAddress: options.metricsAddress ?? options.config.metricsAddress,
    logLevel: options.config.LOG_LEVEL,
  });
  options.deps.sqsGate.useMeter(Runtime.instance().metricMeter);
  const connection = options.connection ?? (await connectWorker(options.config));
  const common = {
    connection,
    namespace: options.config.TEMPORAL_NAMESPACE,
    ...(options.identity ? { identity: options.identity } : {}),
    dataConverter: createDataConverter(options.deps.keyring, loadPreviousCodecKeys(options.config)),
    // On SIGTERM: short activities finish; a receive still long-polling is cancelled and hands its messages back.
    ...SHUTDOWN_TIMES,
  };
  const workflowBundle = options.workflowBundle ?? (await workflowCode());
  const version = options.config.TEMPORAL_WORKER_VERSIONING
    ? deploymentVersionOf(
        options.config,
        'code' in workflowBundle ? workflowBundle.code : readFileSync(workflowBundle.codePath, 'utf8'),
      )
    : undefined;
  const shared = await Worker.create({
    ...common,
    taskQueue: options.config.TEMPORAL_TASK_QUEUE,
    activities: createSharedActivities(options.deps),
    workflowBundle,
    // A drain runs on the build that started it (pinned) and moves to the newest when it continues as new.
    ...(version && {
      workerDeploymentOptions: { useWorkerVersioning: true, version, defaultVersioningBehavior: 'PINNED' as const },
    }),
  });
  // Unversioned: only the batches this worker holds run there, and only this worker polls it.
  const held = await Worker.create({
    ...common,
    taskQueue: options.deps.held.taskQueue,
    activities: createHeldActivities(options.deps),
  });
  const workers = [shared, held];
  const shutdown = () => {
    for (const worker of workers) if (worker.getState() === 'RUNNING') worker.shutdown();
  };
  return {
    async run() {
      const runs = workers.map((worker) => worker.run());
      const promotion = new AbortController();
      if (version) {
        const identity = options.identity ?? `${process.pid}@${hostname()}`;
        const namespace = options.config.TEMPORAL_NAMESPACE;
        void promoteIfNewest(connection, namespace, version, identity, promotion.signal).catch((error: unknown) =>
          log.warn('could not make this build current', { reason: String(error) }),
        );
      }
      try {
        await Promise.all(runs);
      } catch (error) {
        shutdown();
        await Promise.allSettled(runs);
        throw error;
      } finally {
        promotion.abort();
      }
    },
    shutdown,
    getState: () => shared.getState(),
    buildId: version?.buildId,
    ping: (signal) => connection.withAbortSignal(signal, () => connection.workflowService.getSystemInfo({})),
  };
}
