/**
 * `npm test`: starts one local stack on free ports in a temporary directory (Temporal dev server, SQS emulator,
 * embedded Postgres, or TEST_DATABASE_URL), bundles the workflow code once, runs every test file against them
 * with Node's test runner, and stops it all.
 */
import { spawn } from 'node:child_process';
import { appendFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createKeyring } from '../src/core/keys';
import { addLogSink, createLogger } from '../src/log';
import { startScratchStack } from '../src/stack/local-stack';
import { bundleWorkflows } from '../src/temporal/workflow-bundle';
import { TEST_ENV } from './helpers/test-env';

const log = createLogger('test');

// Fixed, so a failed run can be looked into with the same root; random, as roots must be (openssl rand -hex 32).
const TEST_ROOT_SECRET = '85f4e2a7b9c0f93531dbb204b015f632c89e9a6d296e8742ec8e0915cf96402f';

/**
 * A test that hangs fails after this, and its file's process ends (force exit) once its tests are done, so a
 * stall is a failure with a name instead of a run held until CI's own limit. The slowest test takes about 70 s.
 */
const TEST_TIMEOUT_MS = 5 * 60_000;

async function main(): Promise<number> {
  const filter = process.argv.slice(2);
  const files = ['unit', 'integration'].flatMap((dir) =>
    readdirSync(path.join(__dirname, dir))
      .filter((file) => file.endsWith('.test.ts'))
      .map((file) => path.join('test', dir, file)),
  );
  const selected = filter.length ? files.filter((file) => filter.some((part) => file.includes(part))) : files;
  let stackLog = '';
  log.info('starting the test stack');
  const stack = await startScratchStack({
    name: 'test',
    keyring: createKeyring(Buffer.from(TEST_ROOT_SECRET, 'utf8')),
    databaseUrl: process.env.TEST_DATABASE_URL,
    // Every line the stack logs is kept, so a test can search all of it for raw PII.
    prepare: (dir) => {
      stackLog = path.join(dir, 'stack.log');
      addLogSink((line) => appendFileSync(stackLog, line));
    },
  });
  const dataDir = stack.dataDir;
  try {
    const bundlePath = path.join(dataDir, 'workflow-bundle.js');
    const code = await bundleWorkflows();
    writeFileSync(bundlePath, code);
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      TEMPORAL_ADDRESS: stack.temporalAddress,
      SQS_ENDPOINT: stack.sqsEndpoint,
      DATABASE_URL: stack.databaseUrl,
      LOGIN_ETL_DATA_DIR: dataDir,
      PII_HMAC_KEY: TEST_ROOT_SECRET,
      // The test stack's own processes: the operator key pair is a development one in the scratch directory.
      LOGIN_ETL_DEV_KEYS: 'true',
      // Workers of several tests run at once: each serves its metrics on a port of its own.
      METRICS_ADDRESS: '127.0.0.1:0',
      [TEST_ENV.codecServer]: stack.codecServerUrl,
      [TEST_ENV.temporalUi]: stack.temporalUiUrl,
      [TEST_ENV.bundle]: bundlePath,
      [TEST_ENV.stackLog]: stackLog,
    };
    const tsx = path.join(__dirname, '..', 'node_modules', '.bin', 'tsx');
    const child = spawn(
      tsx,
      ['--test', '--test-concurrency=1', `--test-timeout=${TEST_TIMEOUT_MS}`, '--test-force-exit', ...selected],
      { stdio: 'inherit', env },
    );
    return await new Promise<number>((resolve) => child.once('exit', (code) => resolve(code ?? 1)));
  } finally {
    await stack.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    log.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    process.exit(1);
  },
);
