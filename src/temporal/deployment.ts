import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { WorkerDeploymentVersion } from '@temporalio/common';
import type { NativeConnection } from '@temporalio/worker';
import type { Config } from '../config';
import { PROJECT_ROOT } from '../config';
import { createLogger } from '../log';

const log = createLogger('deployment');

const PACKAGE_VERSION = (
  JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string }
).version;

/**
 * This worker's version of the deployment: the deployment is named after the task queue (a drain's workflow and
 * receives run there), and the build id is TEMPORAL_WORKER_BUILD_ID or the package version with a hash of the
 * workflow code, so two workers with the same workflow code are the same version, and a change makes a new one.
 */
export function deploymentVersionOf(config: Config, workflowCode: string): WorkerDeploymentVersion {
  const hash = createHash('sha256').update(workflowCode).digest('hex').slice(0, 12);
  return {
    deploymentName: config.TEMPORAL_TASK_QUEUE,
    buildId: config.TEMPORAL_WORKER_BUILD_ID ?? `${PACKAGE_VERSION}-${hash}`,
  };
}

/** How often to look whether the server has seen this version yet, and to try again after a refusal. */
const POLL_MS = 500;
const RETRY_MS = 5_000;

/**
 * Makes `version` the deployment's current one, so new drains, and drains that continue as new, run on it, unless
 * the current one was first seen after it (an older worker restarting during a rollout must not take the
 * deployment back). Waits until the server has seen this version's pollers; gives up when `signal` aborts.
 */
export async function promoteIfNewest(
  connection: NativeConnection,
  namespace: string,
  version: WorkerDeploymentVersion,
  identity: string,
  signal: AbortSignal,
): Promise<void> {
  const service = connection.workflowService;
  let warned = false;
  while (!signal.aborted) {
    const { workerDeploymentInfo: info, conflictToken } = await service
      .describeWorkerDeployment({ namespace, deploymentName: version.deploymentName })
      .catch(() => ({ workerDeploymentInfo: undefined, conflictToken: undefined }));
    const versions = info?.versionSummaries ?? [];
    const ours = versions.find((summary) => summary.deploymentVersion?.buildId === version.buildId);
    if (ours) {
      const current = info?.routingConfig?.currentDeploymentVersion?.buildId;
      if (current === version.buildId) return;
      const currentSummary = versions.find((summary) => summary.deploymentVersion?.buildId === current);
      const seconds = (summary: typeof ours | undefined) => Number(summary?.createTime?.seconds ?? 0);
      if (current && seconds(currentSummary) > seconds(ours)) {
        log.info('a newer build is current: this one serves the drains pinned to it', {
          buildId: version.buildId,
          current,
        });
        return;
      }
      const failed = await service
        .setWorkerDeploymentCurrentVersion({
          namespace,
          deploymentName: version.deploymentName,
          buildId: version.buildId,
          conflictToken,
          identity,
          // The drain's task queue is this worker's only versioned one; a held batch's queue is per worker.
          ignoreMissingTaskQueues: true,
        })
        .then(
          () => undefined,
          (error: unknown) => (error instanceof Error ? error.message : 'refused'),
        );
      if (failed) {
        // Another worker of the deployment changed it meanwhile (a conflict), or this identity may not: look again.
        if (!warned) log.warn('could not make this build current; trying again', { reason: failed });
        warned = true;
        await sleep(RETRY_MS, signal);
        continue;
      }
      log.info('this build is now current: new drains and drains that continue as new run on it', {
        buildId: version.buildId,
        previous: current ?? 'none',
      });
      return;
    }
    await sleep(POLL_MS, signal);
  }
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });
