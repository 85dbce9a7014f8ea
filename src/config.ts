import path from 'node:path';
import { z } from 'zod';

/** Fixed local ports of the local stack, so every command finds it with no setting. */
export const LOCAL_PORTS = {
  temporal: 7233,
  temporalUi: 8233,
  codecServer: 8234,
  sqs: 4566,
  postgres: 5433,
  workerMetrics: 9464,
} as const;

export const PROJECT_ROOT = path.resolve(__dirname, '..');

export const LOCAL_DATABASE = { user: 'postgres', password: 'postgres', database: 'login_etl' } as const;

export const localDatabaseUrl = (port: number = LOCAL_PORTS.postgres, database: string = LOCAL_DATABASE.database) =>
  `postgres://${LOCAL_DATABASE.user}:${LOCAL_DATABASE.password}@127.0.0.1:${port}/${database}`;

/** A URL whose host is this machine: an emulator or a development database. */
export const isLoopbackUrl = (url: string): boolean => {
  const host = new URL(url).hostname;
  return host === 'localhost' || host === '[::1]' || /^127\./.test(host);
};

/** A boolean setting: true/false (also 1/0, yes/no, on/off). */
const boolean = () => z.stringbool({ error: 'must be true or false' });

const optional = <T extends z.ZodType>(schema: T) =>
  z.preprocess((value) => (value === '' ? undefined : value), schema.optional());

const urlWithProtocol = (protocols: string[]) =>
  z.url({ message: `must be a URL (${protocols.join(', ')})` }).refine(
    (value) => {
      return protocols.includes(new URL(value).protocol.replace(':', ''));
    },
    `must be a URL (${protocols.join(', ')})`,
  );

/**
 * FIFO queues are refused rather than half-supported: the drain loads batches side by side and out of order, which
 * defeats the order a FIFO queue is chosen for, and a FIFO queue's throughput limits and group locks would stall it.
 */
const FIFO_REFUSED =
  'is a FIFO queue (.fifo), which this pipeline does not support: it loads batches in parallel, out of order; use a standard queue';

const envSchema = z.object({
  TEMPORAL_ADDRESS: z
    .string()
    .regex(/^[^\s:]+:\d{1,5}$/, 'must be host:port')
    .default(`localhost:${LOCAL_PORTS.temporal}`),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default('login-etl'),
  TEMPORAL_CLI: optional(z.string()),
  // Worker Versioning: each build of the workflow code is a version of the deployment named after the task queue;
  // a drain stays on the build it started on, and moves to the newest when it continues as new (docs/design.md).
  TEMPORAL_WORKER_VERSIONING: boolean().default(true),
  // Unset: the package version and a hash of the workflow bundle, so a build that changes the workflow is a new one.
  TEMPORAL_WORKER_BUILD_ID: optional(z.string().regex(/^[\w.+-]{1,200}$/, 'must be letters, digits, . _ + or -')),
  // A production cluster: the Temporal CLI's and SDKs' own variable names. TLS is on once any of them is set.
  TEMPORAL_API_KEY: optional(z.string()),
  TEMPORAL_TLS: optional(boolean()),
  TEMPORAL_TLS_CLIENT_CERT_PATH: optional(z.string()),
  TEMPORAL_TLS_CLIENT_KEY_PATH: optional(z.string()),
  TEMPORAL_TLS_SERVER_CA_CERT_PATH: optional(z.string()),
  TEMPORAL_TLS_SERVER_NAME: optional(z.string()),
  // Empty means "AWS's own endpoint": the variable is only left unset for the local default.
  SQS_ENDPOINT: z
    .preprocess((value) => value ?? `http://localhost:${LOCAL_PORTS.sqs}`, z.string())
    .pipe(z.union([z.literal(''), urlWithProtocol(['http', 'https'])])),
  SQS_QUEUE_URL: optional(urlWithProtocol(['http', 'https']).refine((url) => !url.endsWith('.fifo'), FIFO_REFUSED)),
  SQS_QUEUE_NAME: z
    .string()
    .refine((name) => !name.endsWith('.fifo'), FIFO_REFUSED)
    .regex(/^[A-Za-z0-9_-]{1,80}$/, 'must be an SQS queue name (letters, digits, - and _, at most 80)')
    .default('login-queue'),
  AWS_REGION: z
    .string()
    .regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'must be an AWS region such as us-east-1')
    .default('us-east-1'),
  DATABASE_URL: optional(urlWithProtocol(['postgres', 'postgresql'])),
  // Each batch in flight holds one connection while it loads; more workflows or concurrency need more.
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(200).default(10),
  PII_HMAC_KEY: optional(z.string().min(32, 'must be at least 32 characters (use e.g. `openssl rand -hex 32`)')),
  PII_KEY_FILE: optional(z.string()),
  PII_KMS_WRAPPED_KEY: optional(z.base64('must be base64 (the CiphertextBlob `npm run pii -- new-kms-root` prints)')),
  // Unset: AWS's own KMS (used only when PII_KMS_WRAPPED_KEY is set); set: an emulator such as LocalStack's.
  KMS_ENDPOINT: optional(urlWithProtocol(['http', 'https'])),
  LOGIN_ETL_DATA_DIR: z.string().min(1).default(path.join(PROJECT_ROOT, '.data')),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  LOG_FORMAT: z.enum(['text', 'json']).default('text'),
  CODEC_SERVER_PORT: z.coerce.number().int().min(1).max(65535).default(LOCAL_PORTS.codecServer),
  CODEC_SERVER_HOST: z.string().min(1).default('127.0.0.1'),
  CODEC_CORS_ORIGINS: z
    .string()
    .default(`http://localhost:${LOCAL_PORTS.temporalUi},http://127.0.0.1:${LOCAL_PORTS.temporalUi}`)
    .transform((value) =>
      value
        .split(',')
        .map((origin) => origin.trim())
        .filter(Boolean),
    ),
  CODEC_AUTH_TOKEN: optional(z.string().min(16, 'must be at least 16 characters')),
  CODEC_JWKS_URL: optional(urlWithProtocol(['https', 'http'])),
  CODEC_JWT_ISSUER: optional(z.string()),
  CODEC_JWT_AUDIENCE: optional(z.string()),
  // The codec server's only key (npm run pii -- export-codec-key), so it never holds the root.
  CODEC_KEY_FILE: optional(z.string()),
  CODEC_KMS_WRAPPED_KEY: optional(
    z.base64('must be base64 (what npm run pii -- export-codec-key --kms-key-id prints)'),
  ),
  // Codec keys of roots replaced by `pii rotate-root`: every process decodes what Temporal kept from before with them.
  CODEC_PREVIOUS_KEY_FILE: optional(z.string()),
  CODEC_ENABLE_ENCODE: boolean().default(false),
  PII_OPERATOR: optional(z.string()),
  // Vault values and quarantined bodies are sealed to this X25519 key; only its private key opens them.
  PII_VAULT_PUBLIC_KEY: optional(
    z.string().refine((value) => Buffer.from(value.trim(), 'base64url').length === 32, {
      message: 'must be an X25519 public key, 32 bytes base64url (npm run pii -- new-operator-key)',
    }),
  ),
  PII_VAULT_PRIVATE_KEY_FILE: optional(z.string()),
  PII_VAULT_PRIVATE_KEY_KMS_WRAPPED: optional(
    z.base64('must be base64 (what npm run pii -- new-operator-key --kms-key-id prints)'),
  ),
  // Development keys outside the local stack (tests, compose); never for real data.
  LOGIN_ETL_DEV_KEYS: optional(boolean()),
  NODE_ENV: optional(z.string()),
  // The worker's Prometheus endpoint; each worker on one host needs its own port.
  METRICS_ADDRESS: z
    .string()
    .regex(/^(off|[^\s:]+:\d{1,5})$/, 'must be host:port, or off')
    .default(`127.0.0.1:${LOCAL_PORTS.workerMetrics}`),
});

export type Config = z.infer<typeof envSchema> & {
  /** The SQS endpoint to use, undefined for AWS's own. */
  sqsEndpoint: string | undefined;
  /** DATABASE_URL, or the embedded Postgres of the local stack. */
  databaseUrl: string;
  /** Postgres and SQS are both on this machine (the local stack, a development database, an emulator). */
  servicesAreLocal: boolean;
  /** METRICS_ADDRESS, undefined when off. */
  metricsAddress: string | undefined;
};

/** A setting that is missing or malformed: the program stops with one line naming it. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const result = envSchema.safeParse(env);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new ConfigError(`invalid setting ${issue.path.join('.')}: ${issue.message}`);
  }
  const parsed = result.data;
  if ((parsed.TEMPORAL_TLS_CLIENT_CERT_PATH === undefined) !== (parsed.TEMPORAL_TLS_CLIENT_KEY_PATH === undefined)) {
    throw new ConfigError(
      'invalid setting TEMPORAL_TLS_CLIENT_CERT_PATH: set it and TEMPORAL_TLS_CLIENT_KEY_PATH together (mTLS)',
    );
  }
  if (parsed.CODEC_JWKS_URL && !(parsed.CODEC_JWT_ISSUER && parsed.CODEC_JWT_AUDIENCE)) {
    throw new ConfigError(
      'invalid setting CODEC_JWKS_URL: set CODEC_JWT_ISSUER and CODEC_JWT_AUDIENCE with it, or a token the same ' +
        'provider issued for another application would pass',
    );
  }
  const exclusive = [
    ['PII_KMS_WRAPPED_KEY', 'PII_HMAC_KEY', 'PII_KEY_FILE'],
    ['PII_VAULT_PRIVATE_KEY_FILE', 'PII_VAULT_PRIVATE_KEY_KMS_WRAPPED'],
    ['CODEC_KEY_FILE', 'CODEC_KMS_WRAPPED_KEY'],
  ] as const;
  for (const sources of exclusive) {
    const set = sources.filter((name) => parsed[name]);
    if (set.length > 1) throw new ConfigError(`invalid setting ${set[1]}: set only one of ${set.join(', ')}`);
  }
  return {
    ...parsed,
    sqsEndpoint: parsed.SQS_ENDPOINT === '' ? undefined : parsed.SQS_ENDPOINT,
    databaseUrl: parsed.DATABASE_URL ?? localDatabaseUrl(),
    servicesAreLocal:
      (parsed.DATABASE_URL === undefined || isLoopbackUrl(parsed.DATABASE_URL)) &&
      parsed.SQS_ENDPOINT !== '' &&
      isLoopbackUrl(parsed.SQS_ENDPOINT),
    metricsAddress: parsed.METRICS_ADDRESS === 'off' ? undefined : parsed.METRICS_ADDRESS,
  };
}
