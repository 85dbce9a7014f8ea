import { existsSync } from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';
import { loadClientConfigProfile, type ClientConfigTLS } from '@temporalio/envconfig';
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

/**
 * A host that is this machine by its literal address: `localhost`, 127.0.0.0/8 or ::1. Names are not guessed at, so
 * `127.db.example.com` is not local.
 */
export const isLoopbackHost = (host: string): boolean => {
  const bare = host.replace(/^\[|\]$/g, '');
  if (bare === 'localhost') return true;
  if (isIP(bare) === 4) return bare.startsWith('127.');
  return isIP(bare) === 6 && bare === '::1';
};

/** A URL whose host is this machine: an emulator or a development database. */
export const isLoopbackUrl = (url: string): boolean => isLoopbackHost(new URL(url).hostname);

/** A boolean setting: true/false (also 1/0, yes/no, on/off). */
const boolean = () => z.stringbool({ error: 'must be true or false' });

const ADDRESS = /^[^\s:]+:\d{1,5}$/;

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

/** Every setting: its validation, its default and, in `.meta()`, what docs/configuration.md says of it. */
export const SETTINGS = z.object({
  // The Temporal CLI's and SDKs' own names; a profile of the CLI's TOML file (TEMPORAL_CONFIG_FILE, else
  // ~/.config/temporalio/temporal.toml; TEMPORAL_PROFILE, else "default") fills in what they leave unset.
  TEMPORAL_ADDRESS: optional(z.string().regex(ADDRESS, 'must be host:port')).meta({
    description: 'the Temporal frontend (`host:port`)',
    default: '`localhost:7233`',
  }),
  TEMPORAL_NAMESPACE: optional(z.string().min(1)).meta({ description: 'the Temporal namespace', default: '`default`' }),
  TEMPORAL_PROFILE: optional(z.string().min(1)).meta({
    description:
      "the profile to read from the Temporal CLI's config file (TOML); a `TEMPORAL_*` variable wins over the profile's value",
    default: '`default`',
  }),
  TEMPORAL_CONFIG_FILE: optional(z.string()).meta({
    description:
      "the Temporal CLI's config file with its profiles (address, namespace, API key, TLS), read through `@temporalio/envconfig`",
    default: '`~/.config/temporalio/temporal.toml`',
  }),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default('login-etl').meta({
    description: 'the task queue of the drains and their workers; the Worker Deployment is named after it',
  }),
  TEMPORAL_CLI: optional(z.string()).meta({ description: 'path of a `temporal` binary to use for the local stack' }),
  // Worker Versioning: each build of the workflow code is a version of the deployment named after the task queue;
  // a drain stays on the build it started on, and moves to the newest when it continues as new (docs/design.md).
  TEMPORAL_WORKER_VERSIONING: boolean().default(true).meta({
    description:
      '`false` runs unversioned workers (a server without Worker Deployments); see [Changing the workflow](design.md#changing-the-workflow)',
  }),
  // Unset: the package version and a hash of the workflow bundle, so a build that changes the workflow is a new one.
  TEMPORAL_WORKER_BUILD_ID: optional(z.string().regex(/^[\w.+-]{1,200}$/, 'must be letters, digits, . _ + or -')).meta({
    description: "the worker's build id in the deployment named after `TEMPORAL_TASK_QUEUE`",
    default: 'the package version and a hash of the workflow code',
  }),
  // A production cluster: the Temporal CLI's and SDKs' own variable names. TLS is on once any of them is set.
  TEMPORAL_API_KEY: optional(z.string()).meta({
    description: 'API key (Temporal Cloud); sent as a bearer token, over TLS',
  }),
  TEMPORAL_TLS: optional(boolean()).meta({
    description:
      '`true` or `false`; TLS is on by itself once an API key, a client certificate, a CA or a server name is set (`false` forces plain text, e.g. behind a local proxy)',
    default: 'off, on with any of these',
  }),
  TEMPORAL_TLS_CLIENT_CERT_PATH: optional(z.string()).meta({
    description: 'the client certificate (PEM) for mTLS; both it and `TEMPORAL_TLS_CLIENT_KEY_PATH`, or neither',
  }),
  TEMPORAL_TLS_CLIENT_KEY_PATH: optional(z.string()).meta({
    description: "the client certificate's key (PEM) for mTLS",
  }),
  TEMPORAL_TLS_SERVER_CA_CERT_PATH: optional(z.string()).meta({
    description: "the CA that signed the server's certificate, when it is not a public one",
  }),
  TEMPORAL_TLS_SERVER_NAME: optional(z.string()).meta({
    description: "the server name to verify (SNI), when it differs from the address's host",
  }),
  // Empty means "AWS's own endpoint": the variable is only left unset for the local default.
  SQS_ENDPOINT: z
    .preprocess((value) => value ?? `http://localhost:${LOCAL_PORTS.sqs}`, z.string())
    .pipe(z.union([z.literal(''), urlWithProtocol(['http', 'https'])]))
    .meta({
      description:
        'unset it to talk to real AWS: set it empty (`SQS_ENDPOINT=`), since an absent variable means the local default',
    }),
  SQS_QUEUE_URL: optional(
    urlWithProtocol(['http', 'https']).refine((url) => !url.endsWith('.fifo'), FIFO_REFUSED),
  ).meta({ description: 'wins over the name when set' }),
  SQS_QUEUE_NAME: z
    .string()
    .refine((name) => !name.endsWith('.fifo'), FIFO_REFUSED)
    .regex(/^[A-Za-z0-9_-]{1,80}$/, 'must be an SQS queue name (letters, digits, - and _, at most 80)')
    .default('login-queue')
    .meta({
      description:
        'resolved with GetQueueUrl. A FIFO queue (`.fifo`, by name or URL) is refused at start: batches load in parallel and out of order, which defeats a FIFO queue',
    }),
  AWS_REGION: z
    .string()
    .regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'must be an AWS region such as us-east-1')
    .default('us-east-1')
    .meta({
      description:
        "credentials through the AWS SDK's default chain; against an endpoint on this machine (`localhost`, `127.x`, `::1`: an emulator), without `AWS_ACCESS_KEY_ID` or `AWS_PROFILE`, dummy credentials; any other endpoint (a VPC or FIPS endpoint) uses the default chain",
    }),
  DATABASE_URL: optional(urlWithProtocol(['postgres', 'postgresql'])).meta({
    description:
      'Postgres to load into; unset: the embedded Postgres of the local stack, `postgres://postgres:postgres@127.0.0.1:5433/login_etl`',
  }),
  WORKER_MAX_MESSAGES_PER_SECOND: z.coerce.number().int().min(0).max(1_000_000).default(0).meta({
    description:
      'a cap on the messages this worker receives per second, over every drain it serves (0: none), to spare Postgres; each drain may have its own cap too (`--max-messages-per-second`)',
  }),
  // Each batch in flight holds one connection while it loads; more workflows or concurrency need more.
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(200).default(10).meta({
    description: 'Postgres connections per worker: each batch in flight holds one while it loads',
  }),
  PII_HMAC_KEY: optional(z.string().min(32, 'must be at least 32 characters (use e.g. `openssl rand -hex 32`)')).meta({
    description:
      'the root secret every PII key is derived from (at least 32 characters, e.g. `openssl rand -hex 32`; one that looks typed by hand — repeats, runs, few kinds of characters — is refused); with none of the three root settings: a development key in `.data/dev-pii-key` for the local stack only (Postgres and SQS on this machine, `NODE_ENV` not `production`), or with `LOGIN_ETL_DEV_KEYS=true`; anywhere else a one-line error, and no file is written',
  }),
  PII_KEY_FILE: optional(z.string()).meta({
    description: 'instead of `PII_HMAC_KEY`: a file holding the root secret (e.g. a mounted secret)',
  }),
  PII_KMS_WRAPPED_KEY: optional(
    z.base64('must be base64 (the CiphertextBlob `npm run pii -- new-kms-root` prints)'),
  ).meta({
    description:
      'instead of both: the root as a data key wrapped by a KMS key (`npm run pii -- new-kms-root`), unwrapped by KMS Decrypt at start',
  }),
  // Unset: AWS's own KMS (used only when PII_KMS_WRAPPED_KEY is set); set: an emulator such as LocalStack's.
  KMS_ENDPOINT: optional(urlWithProtocol(['http', 'https'])).meta({
    description: "a KMS emulator (LocalStack's, moto's); unset: AWS KMS",
  }),
  LOGIN_ETL_DATA_DIR: z.string().min(1).default(path.join(PROJECT_ROOT, '.data')).meta({
    description: "where the local stack keeps Postgres, Temporal's SQLite file and the development key",
    default: '`.data/`',
  }),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info').meta({
    description:
      "`debug`, `info`, `warn`, `error`; also the Temporal SDK's level, whose worker and activity lines carry the workflow id, activity id and attempt",
  }),
  LOG_FORMAT: z.enum(['text', 'json']).default('text').meta({
    description:
      '`text` (`[component] LEVEL message key=value`) or `json` (one object per line: `time`, `level`, `component`, `msg`, fields)',
  }),
  CODEC_SERVER_PORT: z.coerce.number().int().min(1).max(65535).default(LOCAL_PORTS.codecServer).meta({
    description: "`npm run codec-server`'s port (the local stack's codec server always uses 8234)",
  }),
  CODEC_SERVER_HOST: z.string().min(1).default('127.0.0.1').meta({ description: 'its address; keep it private' }),
  CODEC_CORS_ORIGINS: z
    .string()
    .default(`http://localhost:${LOCAL_PORTS.temporalUi},http://127.0.0.1:${LOCAL_PORTS.temporalUi}`)
    .transform((value) =>
      value
        .split(',')
        .map((origin) => origin.trim())
        .filter(Boolean),
    )
    .meta({
      description: 'comma-separated browser origins allowed to call it (`http://localhost:8233,http://127.0.0.1:8233`)',
      default: 'the local Web UI',
    }),
  CODEC_AUTH_TOKEN: optional(z.string().min(16, 'must be at least 16 characters')).meta({
    description:
      "a static bearer token (16+ characters) for the Temporal CLI (give the CLI `TEMPORAL_CODEC_AUTH='Bearer …'` in its environment, never `--codec-auth` on its command line, where `ps` shows it); with it or `CODEC_JWKS_URL`, every call needs `Authorization: Bearer …`; without either the codec server only listens on loopback",
  }),
  CODEC_JWKS_URL: optional(
    urlWithProtocol(['https', 'http']).refine(
      (url) => url.startsWith('https:') || isLoopbackUrl(url),
      'must be https (http only on this machine): keys fetched in clear could be forged on the way',
    ),
  ).meta({
    description:
      "OIDC: the Web UI forwards the signed-in user's access token (`TEMPORAL_CODEC_PASS_ACCESS_TOKEN=true` on the UI); it is verified against the provider's JWKS (asymmetric algorithms only), issuer and audience (`CODEC_JWKS_URL`, `CODEC_JWT_ISSUER` and `CODEC_JWT_AUDIENCE`, all three together); it must carry `exp`, `iat` and `sub` and live at most a day; its subject is logged with each decode. https only (http on this machine)",
  }),
  CODEC_JWT_ISSUER: optional(z.string()).meta({
    description: 'the issuer an OIDC token must name (with `CODEC_JWKS_URL`)',
  }),
  CODEC_JWT_AUDIENCE: optional(z.string()).meta({
    description: 'the audience an OIDC token must name (with `CODEC_JWKS_URL`)',
  }),
  CODEC_JWT_REQUIRED_CLAIM: optional(
    z
      .string()
      .regex(/^[^=\s]+=\S+$/, 'must be NAME=VALUE, e.g. groups=temporal-decoders')
      .transform((value) => {
        const at = value.indexOf('=');
        return { name: value.slice(0, at), value: value.slice(at + 1) };
      }),
  ).meta({
    description:
      'a claim an OIDC token must carry to decode, `NAME=VALUE` (e.g. `groups=temporal-decoders`: the claim is the value or a list holding it), so not every user of the audience may decode',
  }),
  CODEC_TLS_CERT_FILE: optional(z.string()).meta({
    description: 'a PEM certificate (chain) the codec server serves https with, together with `CODEC_TLS_KEY_FILE`',
  }),
  CODEC_TLS_KEY_FILE: optional(z.string()).meta({ description: 'the private key of `CODEC_TLS_CERT_FILE` (PEM)' }),
  CODEC_PLAINTEXT_BEYOND_LOOPBACK: boolean().default(false).meta({
    description:
      '`true` lets the codec server listen beyond loopback without TLS, for a TLS-terminating proxy or mesh in front of it; otherwise a non-loopback `CODEC_SERVER_HOST` needs `CODEC_TLS_CERT_FILE`',
  }),
  // The codec server's only key (npm run pii -- export-codec-key), so it never holds the root.
  CODEC_KEY_FILE: optional(z.string()).meta({
    description:
      "the codec server's only key (`npm run pii -- export-codec-key --out FILE`, run where the root is); it or `CODEC_KMS_WRAPPED_KEY` (`export-codec-key --kms-key-id KEY`, context `purpose=temporal-codec-key`) is required outside the local stack: the codec server never holds the root",
  }),
  CODEC_KMS_WRAPPED_KEY: optional(
    z.base64('must be base64 (what npm run pii -- export-codec-key --kms-key-id prints)'),
  ).meta({
    description:
      'instead of `CODEC_KEY_FILE`: the codec key wrapped by KMS (what `npm run pii -- export-codec-key --kms-key-id` prints)',
  }),
  // Codec keys of roots replaced by `pii rotate-root`: every process decodes what Temporal kept from before with them.
  CODEC_PREVIOUS_KEY_FILE: optional(z.string()).meta({
    description:
      "codec keys of roots replaced by `pii rotate-root` (hex, one per line, as `export-codec-key` writes them), for workers, commands and the codec server: they decode what Temporal kept from before the move (a paused drain's history, a schedule's arguments) and encode nothing; they open no vault value and match no token",
  }),
  CODEC_ENABLE_ENCODE: boolean().default(false).meta({
    description: "`true` turns `/encode` on (it encrypts whatever it is sent under the pipeline's key)",
  }),
  PII_OPERATOR: optional(z.string()).meta({
    description: 'who `npm run pii` records in the audit trail (`--actor` wins)',
    default: 'login name',
  }),
  // Vault values and quarantined bodies are sealed to this X25519 key; only its private key opens them.
  PII_VAULT_PUBLIC_KEY: optional(
    z.string().refine((value) => Buffer.from(value.trim(), 'base64url').length === 32, {
      message: 'must be an X25519 public key, 32 bytes base64url (npm run pii -- new-operator-key)',
    }),
  ).meta({
    description:
      "the operator's X25519 public key (`npm run pii -- new-operator-key --out FILE` or `--kms-key-id KEY` prints the settings): workers seal vault values and quarantined bodies to it and cannot open them; required outside the local stack",
  }),
  PII_VAULT_PRIVATE_KEY_FILE: optional(z.string()).meta({
    description:
      'the matching private key (PKCS#8 PEM), for `npm run pii -- reveal`, `rotate`, `rotate-root` only; never on a worker',
  }),
  PII_VAULT_PRIVATE_KEY_KMS_WRAPPED: optional(
    z.base64('must be base64 (what npm run pii -- new-operator-key --kms-key-id prints)'),
  ).meta({
    description:
      'instead: the private key wrapped by KMS (`new-operator-key --kms-key-id KEY`), unwrapped by KMS Decrypt with the encryption context `purpose=operator-private-key`, which a key policy can grant to operators alone',
  }),
  // Development keys outside the local stack (tests, compose); never for real data.
  LOGIN_ETL_DEV_KEYS: optional(boolean()).meta({
    description:
      '`true`: development keys (root and operator pair, made once in the data directory) even outside the local stack, e.g. a throwaway compose worker; never with real data',
    default: '`false`',
  }),
  NODE_ENV: optional(z.string()).meta({
    description: '`production`: never development keys, whatever else is set (a missing key is a one-line error)',
  }),
  // The worker's Prometheus endpoint; each worker on one host needs its own port.
  METRICS_ADDRESS: z
    .string()
    .regex(/^(off|[^\s:]+:\d{1,5})$/, 'must be host:port, or off')
    .default(`127.0.0.1:${LOCAL_PORTS.workerMetrics}`)
    .meta({
      description:
        "the worker's Prometheus endpoint (`host:port`, `0.0.0.0:9464` to be scraped from elsewhere, port 0 for any free port), or `off`; see [Metrics](operating.md#metrics)",
    }),
});

export type Config = Omit<z.infer<typeof SETTINGS>, 'TEMPORAL_ADDRESS' | 'TEMPORAL_NAMESPACE'> & {
  /** The Temporal frontend: TEMPORAL_ADDRESS, the profile's, or the local dev server's. */
  TEMPORAL_ADDRESS: string;
  /** TEMPORAL_NAMESPACE, the profile's, or `default`. */
  TEMPORAL_NAMESPACE: string;
  /** TLS as the TEMPORAL_TLS* settings and the profile give it (paths or inline data); undefined: none asked for. */
  temporalTls: ClientConfigTLS | undefined;
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
  const result = SETTINGS.safeParse(env);
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
  if ((parsed.CODEC_TLS_CERT_FILE === undefined) !== (parsed.CODEC_TLS_KEY_FILE === undefined)) {
    throw new ConfigError('invalid setting CODEC_TLS_CERT_FILE: set it and CODEC_TLS_KEY_FILE together');
  }
  if (parsed.CODEC_JWT_REQUIRED_CLAIM && !parsed.CODEC_JWKS_URL) {
    throw new ConfigError('invalid setting CODEC_JWT_REQUIRED_CLAIM: it applies to OIDC tokens; set CODEC_JWKS_URL');
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
  const temporal = temporalProfile(env, parsed);
  return {
    ...parsed,
    ...temporal,
    sqsEndpoint: parsed.SQS_ENDPOINT === '' ? undefined : parsed.SQS_ENDPOINT,
    databaseUrl: parsed.DATABASE_URL ?? localDatabaseUrl(),
    servicesAreLocal:
      (parsed.DATABASE_URL === undefined || isLoopbackUrl(parsed.DATABASE_URL)) &&
      parsed.SQS_ENDPOINT !== '' &&
      isLoopbackUrl(parsed.SQS_ENDPOINT),
    metricsAddress: parsed.METRICS_ADDRESS === 'off' ? undefined : parsed.METRICS_ADDRESS,
  };
}

/**
 * The Temporal connection settings, through @temporalio/envconfig as the Temporal CLI reads them: the profile of its
 * TOML file, with the TEMPORAL_* variables over it.
 */
function temporalProfile(env: NodeJS.ProcessEnv, parsed: z.infer<typeof SETTINGS>) {
  if (parsed.TEMPORAL_CONFIG_FILE && !existsSync(parsed.TEMPORAL_CONFIG_FILE)) {
    throw new ConfigError(`invalid setting TEMPORAL_CONFIG_FILE: ${parsed.TEMPORAL_CONFIG_FILE} does not exist`);
  }
  // Unset is unset: an empty variable, as everywhere in these settings, and booleans as this schema read them.
  const vars = Object.fromEntries(
    Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined && entry[1] !== ''),
  );
  if (parsed.TEMPORAL_TLS !== undefined) vars.TEMPORAL_TLS = String(parsed.TEMPORAL_TLS);
  let profile;
  try {
    profile = loadClientConfigProfile({ overrideEnvVars: vars });
  } catch (error) {
    const setting = parsed.TEMPORAL_PROFILE ? 'TEMPORAL_PROFILE' : 'TEMPORAL_CONFIG_FILE';
    throw new ConfigError(`invalid setting ${setting}: ${(error as Error).message.split('\n')[0]}`);
  }
  const address = profile.address ?? `localhost:${LOCAL_PORTS.temporal}`;
  if (!ADDRESS.test(address)) throw new ConfigError('invalid setting TEMPORAL_ADDRESS: must be host:port');
  return {
    TEMPORAL_ADDRESS: address,
    TEMPORAL_NAMESPACE: profile.namespace ?? 'default',
    TEMPORAL_API_KEY: profile.apiKey,
    temporalTls: profile.tls,
  };
}
