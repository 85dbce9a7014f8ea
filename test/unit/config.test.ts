import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { awsClientSettings } from '../../src/aws';
import { ConfigError, isLoopbackUrl, loadConfig, localDatabaseUrl } from '../../src/config';
import { createKeyring } from '../../src/core/keys';
import { temporalConnectionOptions } from '../../src/temporal/connection-options';
import { developmentKeysAllowed, loadKeyring, loadPreviousCodecKeys } from '../../src/secrets';
import { MIN_ROOT_STRENGTH_BITS, rootStrengthBits } from '../../src/core/root-strength';
import { resolveDrainOptions } from '../../src/workflows/drain-options';

describe('loadConfig', () => {
  it('defaults to the local stack', () => {
    const config = loadConfig({});
    assert.equal(config.TEMPORAL_ADDRESS, 'localhost:7233');
    assert.equal(config.TEMPORAL_NAMESPACE, 'default');
    assert.equal(config.TEMPORAL_TASK_QUEUE, 'login-etl');
    assert.equal(config.sqsEndpoint, 'http://localhost:4566');
    assert.equal(config.SQS_QUEUE_NAME, 'login-queue');
    assert.equal(config.AWS_REGION, 'us-east-1');
    assert.equal(config.databaseUrl, localDatabaseUrl());
  });

  it('talks to AWS itself when SQS_ENDPOINT is set empty', () => {
    assert.equal(loadConfig({ SQS_ENDPOINT: '' }).sqsEndpoint, undefined);
  });

  it('refuses a FIFO queue, by name or URL, with the reason in one line', () => {
    for (const env of [
      { SQS_QUEUE_NAME: 'logins.fifo' },
      { SQS_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/1/logins.fifo' },
    ]) {
      assert.throws(
        () => loadConfig(env),
        (error: unknown) =>
          error instanceof ConfigError &&
          /^invalid setting SQS_QUEUE_(NAME|URL): is a FIFO queue .*use a standard queue$/.test(error.message),
      );
    }
  });

  it('reads a boolean setting as true or false, also 1/0, yes/no, on/off', () => {
    for (const value of ['true', '1', 'yes', 'on'])
      assert.equal(loadConfig({ TEMPORAL_TLS: value }).TEMPORAL_TLS, true);
    for (const value of ['false', '0', 'no', 'off']) {
      assert.equal(loadConfig({ TEMPORAL_WORKER_VERSIONING: value }).TEMPORAL_WORKER_VERSIONING, false);
    }
    assert.equal(loadConfig({}).TEMPORAL_WORKER_VERSIONING, true);
  });

  it('names the variable and the problem in one line', () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{ TEMPORAL_ADDRESS: 'no-port' }, /^invalid setting TEMPORAL_ADDRESS: must be host:port$/],
      [{ SQS_ENDPOINT: 'ftp://x' }, /^invalid setting SQS_ENDPOINT: /],
      [{ DATABASE_URL: 'mysql://x/y' }, /^invalid setting DATABASE_URL: must be a URL \(postgres, postgresql\)$/],
      [{ PII_HMAC_KEY: 'short' }, /^invalid setting PII_HMAC_KEY: must be at least 32 characters/],
      [{ AWS_REGION: 'mars' }, /^invalid setting AWS_REGION: /],
      [{ SQS_QUEUE_NAME: 'bad name' }, /^invalid setting SQS_QUEUE_NAME: /],
      [{ PII_KMS_WRAPPED_KEY: 'not base64!' }, /^invalid setting PII_KMS_WRAPPED_KEY: must be base64/],
      [
        { PII_HMAC_KEY: 'k'.repeat(32), PII_KEY_FILE: '/run/secrets/root' },
        /^invalid setting PII_KEY_FILE: set only one of PII_HMAC_KEY, PII_KEY_FILE$/,
      ],
      [{ CODEC_AUTH_TOKEN: 'short' }, /^invalid setting CODEC_AUTH_TOKEN: must be at least 16 characters$/],
      [{ CODEC_JWKS_URL: 'http://idp.example/jwks.json' }, /^invalid setting CODEC_JWKS_URL: must be https/],
      [{ METRICS_ADDRESS: '9464' }, /^invalid setting METRICS_ADDRESS: must be host:port, or off$/],
      [{ TEMPORAL_TLS: 'maybe' }, /^invalid setting TEMPORAL_TLS: must be true or false$/],
      [
        { TEMPORAL_TLS_CLIENT_CERT_PATH: '/certs/client.pem' },
        /^invalid setting TEMPORAL_TLS_CLIENT_CERT_PATH: set it and TEMPORAL_TLS_CLIENT_KEY_PATH together/,
      ],
    ];
    for (const [env, pattern] of cases) {
      assert.throws(
        () => loadConfig(env),
        (error: unknown) =>
          error instanceof ConfigError && pattern.test(error.message) && !error.message.includes('\n'),
      );
    }
  });
});

describe('codec server settings', () => {
  it('take OIDC only with the issuer and audience a token must name', () => {
    assert.throws(
      () => loadConfig({ CODEC_JWKS_URL: 'https://idp.example/jwks.json', CODEC_JWT_ISSUER: 'https://idp.example' }),
      /set CODEC_JWT_ISSUER and CODEC_JWT_AUDIENCE with it/,
    );
    const config = loadConfig({
      CODEC_JWKS_URL: 'https://idp.example/jwks.json',
      CODEC_JWT_ISSUER: 'https://idp.example',
      CODEC_JWT_AUDIENCE: 'temporal-ui',
    });
    assert.equal(config.CODEC_ENABLE_ENCODE, false, '/encode is off unless asked for');
  });
});

describe('codec keys of replaced roots', () => {
  it('are read from CODEC_PREVIOUS_KEY_FILE, one per line, with a one-line error for a bad line or file', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'codec-keys-'));
    const file = path.join(dir, 'previous');
    const [first, second] = [createKeyring(Buffer.alloc(32, 1)).codec, createKeyring(Buffer.alloc(32, 2)).codec];
    writeFileSync(file, `${first.key.toString('hex')}\n\n${second.key.toString('hex')}\n`);
    const load = (env: NodeJS.ProcessEnv) => loadPreviousCodecKeys(loadConfig(env));
    assert.deepEqual(
      load({ CODEC_PREVIOUS_KEY_FILE: file }).map((key) => key.id),
      [first.id, second.id],
    );
    assert.deepEqual(load({}), []);
    writeFileSync(file, `${first.key.toString('hex')}\nnot-a-key\n`);
    assert.throws(
      () => load({ CODEC_PREVIOUS_KEY_FILE: file }),
      /CODEC_PREVIOUS_KEY_FILE: line 2 of .* is not a codec key/,
    );
    assert.throws(
      () => load({ CODEC_PREVIOUS_KEY_FILE: path.join(dir, 'missing') }),
      /CODEC_PREVIOUS_KEY_FILE: cannot read .*missing \(ENOENT\)/,
    );
    rmSync(dir, { recursive: true });
  });
});

describe('passphrase roots', () => {
  it('are refused when they look typed by hand, with the way to make one, and never echoed', async () => {
    for (const weak of [
      'k'.repeat(40),
      'passwordpasswordpasswordpassword',
      'abcdefghijklmnopqrstuvwxyz0123456789',
      'test-root-secret-test-root-secret-0123456789',
    ]) {
      await assert.rejects(loadKeyring(loadConfig({ PII_HMAC_KEY: weak })), (error: Error) => {
        assert.ok(error instanceof ConfigError);
        assert.match(error.message, /^invalid setting PII_HMAC_KEY: the root looks guessable .*`openssl rand -hex 32`/);
        assert.ok(!error.message.includes(weak));
        return true;
      });
    }
    const dir = mkdtempSync(path.join(tmpdir(), 'root-'));
    try {
      const file = path.join(dir, 'root');
      writeFileSync(file, 'secret-secret-secret-secret-secret-1234\n');
      await assert.rejects(
        loadKeyring(loadConfig({ PII_KEY_FILE: file })),
        /^ConfigError: invalid setting PII_KEY_FILE/,
      );
      writeFileSync(file, `${randomBytes(32).toString('hex')}\n`);
      assert.ok(await loadKeyring(loadConfig({ PII_KEY_FILE: file })));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    for (const strong of [randomBytes(32).toString('hex'), randomBytes(32).toString('base64')]) {
      assert.ok(rootStrengthBits(strong) >= MIN_ROOT_STRENGTH_BITS);
      assert.ok(await loadKeyring(loadConfig({ PII_HMAC_KEY: strong })));
    }
  });
});

describe('development keys', () => {
  const allowed = (env: NodeJS.ProcessEnv) => developmentKeysAllowed(loadConfig(env));

  it('are for the local stack only: Postgres and SQS on this machine, outside production, or asked for', () => {
    assert.equal(allowed({}), true);
    assert.equal(allowed({ DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/test' }), true);
    assert.equal(allowed({ NODE_ENV: 'production' }), false);
    assert.equal(allowed({ DATABASE_URL: 'postgres://etl@db.internal:5432/logins' }), false);
    assert.equal(allowed({ SQS_ENDPOINT: '' }), false, 'real SQS');
    assert.equal(allowed({ NODE_ENV: 'production', LOGIN_ETL_DEV_KEYS: 'true' }), true);
  });

  it('count a host as this machine by its literal address only, never by a name that looks like one', () => {
    for (const url of ['http://localhost:4566', 'http://127.0.0.1:4566', 'http://127.1.2.3:1', 'http://[::1]:4566']) {
      assert.equal(isLoopbackUrl(url), true, url);
    }
    for (const url of ['http://127.db.example.com:5432', 'http://localhost.example.com:1', 'http://10.0.0.1:1']) {
      assert.equal(isLoopbackUrl(url), false, url);
    }
    assert.equal(allowed({ DATABASE_URL: 'postgres://etl@127.db.example.com:5432/logins' }), false);
  });
});

describe('metrics and Temporal connection settings', () => {
  it('serves metrics on 127.0.0.1:9464 unless told otherwise or off', () => {
    assert.equal(loadConfig({}).metricsAddress, '127.0.0.1:9464');
    assert.equal(loadConfig({ METRICS_ADDRESS: '0.0.0.0:9100' }).metricsAddress, '0.0.0.0:9100');
    assert.equal(loadConfig({ METRICS_ADDRESS: 'off' }).metricsAddress, undefined);
  });

  it('connects in plain text to the dev server, and over TLS once an API key or a certificate is set', () => {
    const options = (env: Record<string, string>) => temporalConnectionOptions(loadConfig(env));
    assert.deepEqual(options({}), { address: 'localhost:7233' });
    assert.deepEqual(options({ TEMPORAL_ADDRESS: 'ns.acct.tmprl.cloud:7233', TEMPORAL_API_KEY: 'key' }), {
      address: 'ns.acct.tmprl.cloud:7233',
      apiKey: 'key',
      tls: {},
    });
    assert.deepEqual(options({ TEMPORAL_TLS: 'true', TEMPORAL_TLS_SERVER_NAME: 'temporal.internal' }).tls, {
      serverNameOverride: 'temporal.internal',
    });
    assert.equal(
      options({ TEMPORAL_API_KEY: 'key', TEMPORAL_TLS: 'false' }).tls,
      undefined,
      'e.g. behind a local proxy',
    );
    assert.throws(
      () => options({ TEMPORAL_ADDRESS: 'ns.acct.tmprl.cloud:7233', TEMPORAL_API_KEY: 'key', TEMPORAL_TLS: 'false' }),
      /^ConfigError: invalid setting TEMPORAL_TLS: false would send TEMPORAL_API_KEY in clear to ns.acct.tmprl.cloud;/,
    );
    assert.throws(
      () =>
        options({
          TEMPORAL_TLS_CLIENT_CERT_PATH: '/nonexistent.pem',
          TEMPORAL_TLS_CLIENT_KEY_PATH: '/nonexistent.key',
        }),
      /^ConfigError: invalid setting TEMPORAL_TLS_CLIENT_CERT_PATH: cannot read \/nonexistent.pem \(ENOENT\)$/,
    );
  });
});

describe('Temporal CLI profiles (TOML)', () => {
  it("reads a profile of the CLI's config file, with the variables over it", () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'profiles-')), 'temporal.toml');
    writeFileSync(
      file,
      '[profile.default]\naddress = "default.example:7233"\n\n' +
        '[profile.cloud]\naddress = "ns.acct.tmprl.cloud:7233"\nnamespace = "ns.acct"\napi_key = "key"\n',
    );
    const cloud = loadConfig({ TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'cloud' });
    assert.deepEqual([cloud.TEMPORAL_ADDRESS, cloud.TEMPORAL_NAMESPACE], ['ns.acct.tmprl.cloud:7233', 'ns.acct']);
    assert.deepEqual(temporalConnectionOptions(cloud), { address: 'ns.acct.tmprl.cloud:7233', apiKey: 'key', tls: {} });
    assert.equal(loadConfig({ TEMPORAL_CONFIG_FILE: file }).TEMPORAL_ADDRESS, 'default.example:7233');
    const overridden = { TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'cloud', TEMPORAL_ADDRESS: 'other:7233' };
    assert.equal(loadConfig(overridden).TEMPORAL_ADDRESS, 'other:7233', 'a variable wins over the profile');
    assert.throws(
      () => loadConfig({ TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'nope' }),
      /^ConfigError: invalid setting TEMPORAL_PROFILE: Profile 'nope' not found/,
    );
    assert.throws(
      () => loadConfig({ TEMPORAL_CONFIG_FILE: '/nonexistent.toml' }),
      /^ConfigError: invalid setting TEMPORAL_CONFIG_FILE: \/nonexistent.toml does not exist$/,
    );
  });
});

describe('AWS client settings', () => {
  it('give dummy credentials to an emulator on this machine only, never to an AWS endpoint such as a VPC one', () => {
    const saved = { key: process.env.AWS_ACCESS_KEY_ID, profile: process.env.AWS_PROFILE };
    delete process.env.AWS_ACCESS_KEY_ID;
    delete process.env.AWS_PROFILE;
    try {
      assert.ok(awsClientSettings('http://localhost:4566', 'us-east-1').credentials);
      assert.ok(awsClientSettings('http://127.0.0.1:4566', 'us-east-1').credentials);
      const vpc = 'https://vpce-0abc-xyz.sqs.us-east-1.vpce.amazonaws.com';
      assert.equal(awsClientSettings(vpc, 'us-east-1').credentials, undefined, 'the default chain');
      assert.equal(awsClientSettings('https://sqs-fips.us-east-1.amazonaws.com', 'us-east-1').credentials, undefined);
    } finally {
      if (saved.key !== undefined) process.env.AWS_ACCESS_KEY_ID = saved.key;
      if (saved.profile !== undefined) process.env.AWS_PROFILE = saved.profile;
    }
  });
});

describe('resolveDrainOptions', () => {
  it('fills defaults and rejects out-of-range values by name', () => {
    assert.deepEqual([resolveDrainOptions().batchSize, resolveDrainOptions().concurrency], [1000, 4]);
    assert.equal(resolveDrainOptions({ batchSize: 10 }).batchSize, 10);
    // Options a command line leaves out arrive as undefined and must not erase the defaults.
    assert.equal(resolveDrainOptions({ batchSize: undefined, mode: undefined }).batchSize, 1000);
    assert.throws(() => resolveDrainOptions({ concurrency: 0 }), /concurrency must be an integer from 1 to 32/);
    assert.throws(() => resolveDrainOptions({ batchSize: 0 }), /batchSize must be an integer from 1 to 10000/);
    assert.throws(() => resolveDrainOptions({ maxBatchBytes: 10 ** 8 }), /maxBatchBytes/);
  });
});
