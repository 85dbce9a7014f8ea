import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Config } from '../config';
import type { Keyring } from '../core/keys';
import { createPool } from '../db/pool';
import { migrate } from '../db/migrate';
import { createLogger } from '../log';
import { startCodecServer } from '../temporal/codec-server';
import { createPayloadCodec } from '../temporal/data-converter';
import { loadPreviousCodecKeys } from '../secrets';
import { createSqsClient, ensureQueues } from '../sqs';
import { startEmbeddedPostgres } from './embedded-postgres';
import { assertPortFree, freePorts } from './readiness';
import { startSqsEmulator } from './sqs-emulator';
import { findTemporalCli } from './temporal-cli';
import { startTemporalServer } from './temporal-server';

interface StackPorts {
  temporal: number;
  temporalUi: number;
  codecServer: number;
  sqs: number;
  postgres: number;
}

export interface LocalStackOptions {
  ports: StackPorts;
  dataDir: string;
  config: Pick<
    Config,
    | 'TEMPORAL_CLI'
    | 'SQS_QUEUE_NAME'
    | 'AWS_REGION'
    | 'DATABASE_URL'
    | 'CODEC_AUTH_TOKEN'
    | 'CODEC_ENABLE_ENCODE'
    | 'CODEC_PREVIOUS_KEY_FILE'
  >;
  /** For the codec server, which decodes payloads for the Web UI. */
  keyring: Keyring;
  temporalExtraArgs?: string[];
}

export interface LocalStack {
  temporalAddress: string;
  temporalUiUrl: string;
  codecServerUrl: string;
  sqsEndpoint: string;
  databaseUrl: string;
  queueUrl: string;
  dlqUrl: string;
  stop(): Promise<void>;
}

type Stoppable = { stop(): Promise<void> };

/** Ports nothing listens on, for a stack beside another (the tests', the bench's). */
function freeStackPorts(): Promise<StackPorts> {
  return freePorts('temporal', 'temporalUi', 'codecServer', 'sqs', 'postgres');
}

/**
 * Temporal dev server (its Web UI wired to the codec server), SQS emulator and Postgres (DATABASE_URL, or an
 * embedded server), each on its port, checked for readiness, then the queues and the schema. Any failure stops
 * what was started.
 */
export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const { ports, dataDir, config } = options;
  const embeddedPostgres = config.DATABASE_URL === undefined;
  await assertPortFree(ports.temporal, 'Temporal gRPC');
  await assertPortFree(ports.temporalUi, 'Temporal Web UI');
  await assertPortFree(ports.codecServer, 'codec server');
  await assertPortFree(ports.sqs, 'SQS emulator');
  if (embeddedPostgres) await assertPortFree(ports.postgres, 'embedded Postgres');
  const cli = findTemporalCli(config.TEMPORAL_CLI);
  mkdirSync(dataDir, { recursive: true });

  const started: Stoppable[] = [];
  const stopAll = async () => {
    for (const component of started.reverse()) await component.stop().catch(() => undefined);
  };
  const track = <T extends Stoppable>(component: T): T => {
    started.push(component);
    return component;
  };
  // Started first, and alone: nothing else runs yet if it fails.
  const codecServer = track(
    await startCodecServer({
      codec: createPayloadCodec(options.keyring, loadPreviousCodecKeys(config)),
      // The Web UI's origin is whichever host name the browser was given.
      allowedOrigins: [`http://localhost:${ports.temporalUi}`, `http://127.0.0.1:${ports.temporalUi}`],
      auth: { staticToken: config.CODEC_AUTH_TOKEN },
      encodeEnabled: config.CODEC_ENABLE_ENCODE,
      host: '127.0.0.1',
      port: ports.codecServer,
      log: createLogger('codec'),
    }),
  );
  const results = await Promise.allSettled([
    embeddedPostgres
      ? startEmbeddedPostgres({
          port: ports.postgres,
          dataDir: path.join(dataDir, 'postgres'),
          log: createLogger('postgres'),
        }).then(track)
      : Promise.resolve({ url: config.DATABASE_URL! }),
    startSqsEmulator({
      port: ports.sqs,
      log: createLogger('sqs'),
      stateFile: path.join(dataDir, 'sqs-state.json'),
    }).then(track),
    startTemporalServer({
      cli,
      port: ports.temporal,
      uiPort: ports.temporalUi,
      dbFile: path.join(dataDir, 'temporal.db'),
      log: createLogger('temporal'),
      extraArgs: ['--ui-codec-endpoint', codecServer.url, ...(options.temporalExtraArgs ?? [])],
    }).then(track),
  ]);
  const failure = results.find((result) => result.status === 'rejected');
  if (failure) {
    await stopAll();
    throw failure.reason;
  }
  const [postgres, sqsEmulator, temporal] = results.map(
    (result) => (result as PromiseFulfilledResult<unknown>).value,
  ) as [{ url: string }, { endpoint: string }, { address: string; uiUrl: string }];
  try {
    const sqs = createSqsClient({ sqsEndpoint: sqsEmulator.endpoint, AWS_REGION: config.AWS_REGION });
    const queues = await ensureQueues(sqs, config.SQS_QUEUE_NAME).finally(() => sqs.destroy());
    const pool = createPool({ databaseUrl: postgres.url }, 1);
    await migrate(pool).finally(() => pool.end());
    return {
      temporalAddress: temporal.address,
      temporalUiUrl: temporal.uiUrl,
      codecServerUrl: codecServer.url,
      sqsEndpoint: sqsEmulator.endpoint,
      databaseUrl: postgres.url,
      ...queues,
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/**
 * A stack on free ports in a new temporary directory, for the tests, the bench and recordings; stop() removes the
 * directory. `prepare` runs on the directory before anything starts.
 */
export async function startScratchStack(options: {
  name: string;
  keyring: Keyring;
  databaseUrl?: string;
  prepare?: (dataDir: string) => void;
}): Promise<LocalStack & { dataDir: string }> {
  const dataDir = mkdtempSync(path.join(tmpdir(), `login-etl-${options.name}-`));
  // As root, the embedded Postgres runs as the postgres user: it can then keep its data in here, removed with it.
  chmodSync(dataDir, 0o755);
  const remove = () => rmSync(dataDir, { recursive: true, force: true });
  try {
    options.prepare?.(dataDir);
    const stack = await startLocalStack({
      ports: await freeStackPorts(),
      dataDir,
      keyring: options.keyring,
      config: {
        TEMPORAL_CLI: process.env.TEMPORAL_CLI,
        SQS_QUEUE_NAME: 'login-queue',
        AWS_REGION: 'us-east-1',
        DATABASE_URL: options.databaseUrl,
        CODEC_AUTH_TOKEN: undefined,
        CODEC_ENABLE_ENCODE: false,
      },
    });
    return { ...stack, dataDir, stop: () => stack.stop().finally(remove) };
  } catch (error) {
    remove();
    throw error;
  }
}
