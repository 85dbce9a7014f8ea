import { DefaultLogger, Runtime, type LogLevel } from '@temporalio/worker';
import { createLogger, type LogLevelName } from '../log';
import { metricsAddressError } from '../metrics/health-endpoints';
import { BATCH_DURATION_BUCKETS, PIPELINE_METRICS, SQS_CALL_DURATION_BUCKETS } from '../metrics';

let runtimeInstalled = false;

const NO_WORKFLOWS_WARNING = 'No workflows registered, not polling for workflow tasks';

/**
 * The SDK's notes on each worker's lifecycle (state changes, no Nexus services): eight lines a worker process at
 * info, saying nothing the worker's own `polling` and `stopped` lines do not. Kept at debug.
 */
const LIFECYCLE_NOTES = ['Worker state changed', 'No Nexus services registered'];

const SDK_LOG_LEVELS: Record<LogLevelName, LogLevel> = { debug: 'DEBUG', info: 'INFO', warn: 'WARN', error: 'ERROR' };

/**
 * Routes the Temporal runtime's own logs (and the activities' context logger) through ours at LOG_LEVEL, so they
 * read like the rest and are redacted the same way, and serves Prometheus metrics (the SDK's and the pipeline's)
 * on `metricsAddress`. Once per process: the first call decides.
 */
export function installTemporalRuntime(options: { metricsAddress?: string; logLevel?: LogLevelName } = {}): void {
  if (runtimeInstalled) return;
  const { metricsAddress, logLevel = 'warn' } = options;
  const log = createLogger('temporal');
  const logger = new DefaultLogger(SDK_LOG_LEVELS[logLevel], ({ level, message, meta }) => {
    // The worker of a worker's own task queue runs activities only, by design (src/temporal/worker.ts).
    if (message === NO_WORKFLOWS_WARNING) return;
    if (level === 'ERROR') log.error(message, meta);
    else if (level === 'WARN') log.warn(message, meta);
    else if (level === 'INFO' && !LIFECYCLE_NOTES.some((note) => message.startsWith(note))) log.info(message, meta);
    else log.debug(message, meta);
  });
  try {
    Runtime.install({
      logger,
      ...(metricsAddress && {
        telemetryOptions: {
          metrics: {
            prometheus: {
              bindAddress: metricsAddress,
              countersTotalSuffix: true,
              useSecondsForDurations: true,
              histogramBucketOverrides: {
                [PIPELINE_METRICS.batchDuration.name]: BATCH_DURATION_BUCKETS,
                [PIPELINE_METRICS.sqsCallDuration.name]: SQS_CALL_DURATION_BUCKETS,
              },
            },
          },
        },
      }),
    });
  } catch (error) {
    if (!metricsAddress) throw error;
    throw metricsAddressError(metricsAddress, error);
  }
  runtimeInstalled = true;
}
