import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { serverEnv } from '../../src/stack/managed-process';

describe('the environment of the servers the local stack starts', () => {
  it('holds no secret setting: no root, operator or codec key, no Temporal API key', () => {
    const secrets = {
      PII_HMAC_KEY: 'k'.repeat(40),
      PII_VAULT_PRIVATE_KEY_FILE: '/run/secrets/operator',
      CODEC_AUTH_TOKEN: 't'.repeat(20),
      TEMPORAL_API_KEY: 'key',
    };
    Object.assign(process.env, secrets);
    try {
      const env = serverEnv({ FAUXQS_PORT: '4566' });
      for (const name of Object.keys(secrets)) assert.equal(env[name], undefined, name);
      assert.equal(env.FAUXQS_PORT, '4566');
      assert.equal(env.PATH, process.env.PATH, 'the rest is inherited');
    } finally {
      for (const name of Object.keys(secrets)) delete process.env[name];
    }
  });
});
