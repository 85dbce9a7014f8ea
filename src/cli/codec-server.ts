import { loadConfig } from '../config';
import { createLogger } from '../log';
import { loadKeyring } from '../secrets';
import { startCodecServer } from '../temporal/codec-server';
import { createPayloadCodec } from '../temporal/data-converter';
import { runMain, untilStopSignal } from './run-main';

const log = createLogger('codec-server');

/** `npm run codec-server`: decodes the pipeline's payloads for the Temporal Web UI and CLI of an operator. */
runMain(async () => {
  const config = loadConfig();
  const server = await startCodecServer({
    codec: createPayloadCodec(await loadKeyring(config)),
    allowedOrigins: config.CODEC_CORS_ORIGINS,
    authToken: config.CODEC_AUTH_TOKEN,
    host: config.CODEC_SERVER_HOST,
    port: config.CODEC_SERVER_PORT,
    log,
  });
  log.info(`codec server at ${server.url}`, {
    origins: config.CODEC_CORS_ORIGINS.join(','),
    auth: config.CODEC_AUTH_TOKEN ? 'bearer token' : 'none',
  });
  await untilStopSignal();
  await server.stop();
});
