import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { loadConfig, PROJECT_ROOT } from '../../src/config';
import { createLogger } from '../../src/log';
import { codecKeyFromBytes } from '../../src/core/keys';
import { openSealed, parseOperatorPublicKey, sealerFor } from '../../src/core/operator-seal';
import { loadCodecKeyBytes, loadKeyring, loadOperatorPrivateKey } from '../../src/secrets';
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

    /** A new KMS key in the emulator; its id. */
    const createKmsKey = async (description: string) => {
      const kms = new KMSClient({
        endpoint,
        region: 'us-east-1',
        credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      });
      try {
        return (await kms.send(new CreateKeyCommand({ Description: description }))).KeyMetadata!.KeyId!;
      } finally {
        kms.destroy();
      }
    };

    it('unwraps the root that `pii new-kms-root` made, to the same keys every time, and refuses a tampered one', async () => {
      const kmsKeyId = await createKmsKey('login-etl test root');
      const env = { ...process.env, KMS_ENDPOINT: endpoint, PII_HMAC_KEY: '' };
      const made = await runCommand('src/cli/pii.ts', ['new-kms-root', '--kms-key-id', kmsKeyId], env);
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

    it('wraps the operator private key and the codec key for their own purposes; neither unwraps as the other', async () => {
      const kmsKeyId = await createKmsKey('login-etl operator key');
      const env = { ...process.env, KMS_ENDPOINT: endpoint };
      const settingsOf = (stdout: string) =>
        Object.fromEntries(
          stdout
            .trim()
            .split('\n')
            .map((line) => line.split(/=(.*)/s).slice(0, 2) as [string, string]),
        );

      const made = await runCommand('src/cli/pii.ts', ['new-operator-key', '--kms-key-id', kmsKeyId], env);
      assert.equal(made.code, 0, made.stderr);
      const operator = settingsOf(made.stdout);
      assert.deepEqual(Object.keys(operator), ['PII_VAULT_PUBLIC_KEY', 'PII_VAULT_PRIVATE_KEY_KMS_WRAPPED']);
      const privateKey = await loadOperatorPrivateKey(loadConfig({ ...env, ...operator }));
      const publicKey = parseOperatorPublicKey(operator.PII_VAULT_PUBLIC_KEY!);
      assert.equal(privateKey.id, publicKey.id);
      const sealed = sealerFor(publicKey)(Buffer.from('198.51.100.77'), Buffer.from('aad'));
      assert.equal(openSealed(privateKey, sealed, Buffer.from('aad')).toString(), '198.51.100.77');

      const exported = await runCommand('src/cli/pii.ts', ['export-codec-key', '--kms-key-id', kmsKeyId], env);
      assert.equal(exported.code, 0, exported.stderr);
      const codec = settingsOf(exported.stdout);
      const bytes = await loadCodecKeyBytes(loadConfig({ ...env, ...codec }));
      assert.equal(codecKeyFromBytes(bytes!).id, (await loadKeyring(loadConfig(process.env))).codec.id);

      // The encryption context names the purpose: a wrapped operator key is not a root, nor a codec key.
      await assert.rejects(
        loadKeyring(
          loadConfig({ ...env, PII_HMAC_KEY: '', PII_KMS_WRAPPED_KEY: operator.PII_VAULT_PRIVATE_KEY_KMS_WRAPPED }),
        ),
        /cannot unwrap PII_KMS_WRAPPED_KEY/,
      );
      await assert.rejects(
        loadCodecKeyBytes(loadConfig({ ...env, CODEC_KMS_WRAPPED_KEY: operator.PII_VAULT_PRIVATE_KEY_KMS_WRAPPED })),
        /cannot unwrap CODEC_KMS_WRAPPED_KEY/,
      );
    });
  },
);
