import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { loadConfig, PROJECT_ROOT } from '../../src/config';
import { createLogger } from '../../src/log';
import { loadKeyring } from '../../src/secrets';
import { startManagedProcess, type ManagedProcess } from '../../src/stack/managed-process';
import { freePort, waitUntil } from '../../src/stack/readiness';
import { runCommand } from '../helpers/commands';

/** moto's KMS, installed by `npm run setup:kms-emulator` (CI does); LocalStack's KMS behaves the same. */
const MOTO_SERVER = path.join(PROJECT_ROOT, '.tools', 'kms-emulator-venv', 'bin', 'moto_server');
const available = existsSync(MOTO_SERVER);

describe(
  'root key wrapped by KMS (envelope encryption)',
  { skip: !available && 'run `npm run setup:kms-emulator`' },
  () => {
    let emulator: ManagedProcess;
    let endpoint: string;
    before(async () => {
      const port = await freePort();
      endpoint = `http://127.0.0.1:${port}`;
      emulator = startManagedProcess(MOTO_SERVER, ['-H', '127.0.0.1', '-p', String(port)], {
        log: createLogger('kms'),
        filterLine: () => false,
      });
      await waitUntil('KMS emulator', async () => (await fetch(`${endpoint}/moto-api/`)).ok, {
        abort: emulator.exited,
      });
    });
    after(() => emulator?.stop());

    it('unwraps the root that `pii new-kms-root` made, to the same keys every time, and refuses a tampered one', async () => {
      const kms = new KMSClient({
        endpoint,
        region: 'us-east-1',
        credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      });
      const { KeyMetadata } = await kms.send(new CreateKeyCommand({ Description: 'login-etl test root' }));
      kms.destroy();
      const env = { ...process.env, KMS_ENDPOINT: endpoint, PII_HMAC_KEY: '' };
      const made = await runCommand('src/cli/pii.ts', ['new-kms-root', '--kms-key-id', KeyMetadata!.KeyId!], env);
      assert.equal(made.code, 0, made.stderr);
      const wrapped = made.stdout.trim();
      assert.match(wrapped, /^[A-Za-z0-9+/]+=*$/);

      const config = loadConfig({ ...env, PII_KMS_WRAPPED_KEY: wrapped });
      const first = await loadKeyring(config);
      const second = await loadKeyring(config);
      assert.equal(first.rootFingerprint, second.rootFingerprint);
      assert.equal(first.keySet(1).ipToken.id, second.keySet(1).ipToken.id);
      assert.notEqual(first.rootFingerprint, (await loadKeyring(loadConfig(process.env))).rootFingerprint);

      const tampered = Buffer.from(wrapped, 'base64');
      tampered[tampered.length - 1]! ^= 1;
      await assert.rejects(
        loadKeyring(loadConfig({ ...env, PII_KMS_WRAPPED_KEY: tampered.toString('base64') })),
        /cannot unwrap PII_KMS_WRAPPED_KEY with KMS/,
      );
    });
  },
);
