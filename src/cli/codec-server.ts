import { readFileSync } from 'node:fs';
import { ConfigError, isLoopbackHost, loadConfig, type Config } from '../config';
import { codecKeyFromBytes, type VersionedKey } from '../core/keys';
import { createLogger } from '../log';
import { loadCodecKeyBytes, loadPreviousCodecKeys } from '../secrets';
import { authIsOn } from '../temporal/codec-auth';
import { startCodecServer } from '../temporal/codec-server';
import { EncryptionCodec } from '../temporal/encryption-codec';
import { helpAsked, runMain, untilStopSignal } from './run-main';

const log = createLogger('codec-server');

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

/**
 * Beyond loopback (a literal address decides), callers must authenticate, and their tokens and the payloads travel
 * over TLS: the server's own, or a proxy's in front of it when the operator says so.
 */
function checkExposure(config: Config, authOn: boolean, tlsOn: boolean): void {
  if (isLoopbackHost(config.CODEC_SERVER_HOST)) return;
  const reachable = `invalid setting CODEC_SERVER_HOST: ${config.CODEC_SERVER_HOST} is reachable from other machines`;
  if (!authOn) throw new ConfigError(`${reachable}; set CODEC_AUTH_TOKEN or CODEC_JWKS_URL first`);
  if (!tlsOn && !config.CODEC_PLAINTEXT_BEYOND_LOOPBACK) {
    throw new ConfigError(
      `${reachable} and tokens would cross the network in clear; set CODEC_TLS_CERT_FILE and CODEC_TLS_KEY_FILE, ` +
        'or CODEC_PLAINTEXT_BEYOND_LOOPBACK=true behind a TLS-terminating proxy',
    );
  }
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
    requiredClaim: config.CODEC_JWT_REQUIRED_CLAIM,
  };
  const tls = config.CODEC_TLS_CERT_FILE
    ? { cert: readFileSync(config.CODEC_TLS_CERT_FILE), key: readFileSync(config.CODEC_TLS_KEY_FILE!) }
    : undefined;
  checkExposure(config, authIsOn(auth), tls !== undefined);
  const server = await startCodecServer({
    codec: new EncryptionCodec(await loadCodecKey(config), loadPreviousCodecKeys(config)),
    allowedOrigins: config.CODEC_CORS_ORIGINS,
    auth,
    encodeEnabled: config.CODEC_ENABLE_ENCODE,
    host: config.CODEC_SERVER_HOST,
    port: config.CODEC_SERVER_PORT,
    tls,
    log,
  });
  log.info(`codec server at ${server.url}`, {
    origins: config.CODEC_CORS_ORIGINS.join(','),
    auth:
      [config.CODEC_AUTH_TOKEN && 'bearer token', config.CODEC_JWKS_URL && 'OIDC (JWKS)'].filter(Boolean).join(', ') ||
      'none',
    encode: config.CODEC_ENABLE_ENCODE ? 'on' : 'off',
    tls: tls ? 'on' : 'off',
  });
  await untilStopSignal();
  await server.stop();
});
