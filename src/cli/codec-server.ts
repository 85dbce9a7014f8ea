import { ConfigError, loadConfig, type Config } from '../config';
import { codecKeyFromBytes, type VersionedKey } from '../core/keys';
import { createLogger } from '../log';
import { loadCodecKeyBytes, loadPreviousCodecKeys } from '../secrets';
import { authIsOn } from '../temporal/codec-auth';
import { startCodecServer } from '../temporal/codec-server';
import { EncryptionCodec } from '../temporal/encryption-codec';
import { helpAsked, runMain, untilStopSignal } from './run-main';

const log = createLogger('codec-server');

const LOOPBACK_HOSTS = ['127.0.0.1', '::1', 'localhost'];

/**
 * The codec key alone (CODEC_KEY_FILE or CODEC_KMS_WRAPPED_KEY), wherever it runs: the codec server never holds the
 * root, nor makes a key (the local stack's own codec server gets the stack's key when the stack starts).
 */
async function loadCodecKey(config: Config): Promise<VersionedKey> {
  const bytes = await loadCodecKeyBytes(config);
  if (bytes) return codecKeyFromBytes(bytes);
  throw new ConfigError(
    'no codec key: set CODEC_KEY_FILE or CODEC_KMS_WRAPPED_KEY (npm run pii -- export-codec-key, where the root ' +
      'key is); the codec server never holds the root',
  );
}

/** `npm run codec-server`: decodes the pipeline's payloads for the Temporal Web UI and CLI of an operator. */
const USAGE = `usage: npm run codec-server   (login-etl codec-server)

The Temporal codec server alone (POST /decode; /encode when CODEC_ENABLE_ENCODE=true), for a Web UI or CLI of a
Temporal that is not the local stack's. It holds only the codec key (CODEC_KEY_FILE or CODEC_KMS_WRAPPED_KEY);
settings CODEC_* (docs/configuration.md).`;

runMain(async () => {
  if (helpAsked(USAGE)) return 0;
  const config = loadConfig();
  const auth = {
    staticToken: config.CODEC_AUTH_TOKEN,
    jwksUrl: config.CODEC_JWKS_URL,
    issuer: config.CODEC_JWT_ISSUER,
    audience: config.CODEC_JWT_AUDIENCE,
  };
  if (!authIsOn(auth) && !LOOPBACK_HOSTS.includes(config.CODEC_SERVER_HOST)) {
    throw new ConfigError(
      `invalid setting CODEC_SERVER_HOST: ${config.CODEC_SERVER_HOST} is reachable from other machines; ` +
        'set CODEC_AUTH_TOKEN or CODEC_JWKS_URL first',
    );
  }
  const server = await startCodecServer({
    codec: new EncryptionCodec(await loadCodecKey(config), loadPreviousCodecKeys(config)),
    allowedOrigins: config.CODEC_CORS_ORIGINS,
    auth,
    encodeEnabled: config.CODEC_ENABLE_ENCODE,
    host: config.CODEC_SERVER_HOST,
    port: config.CODEC_SERVER_PORT,
    log,
  });
  log.info(`codec server at ${server.url}`, {
    origins: config.CODEC_CORS_ORIGINS.join(','),
    auth:
      [config.CODEC_AUTH_TOKEN && 'bearer token', config.CODEC_JWKS_URL && 'OIDC (JWKS)'].filter(Boolean).join(', ') ||
      'none',
    encode: config.CODEC_ENABLE_ENCODE ? 'on' : 'off',
  });
  await untilStopSignal();
  await server.stop();
});
