import { readFileSync } from 'node:fs';
import type { TLSConfig } from '@temporalio/client';
import { ConfigError, isLoopbackHost, type Config } from '../config';

type ConnectionConfig = Pick<Config, 'TEMPORAL_ADDRESS' | 'TEMPORAL_API_KEY' | 'temporalTls'>;

export interface TemporalConnectionOptions {
  address: string;
  tls?: TLSConfig;
  apiKey?: string;
}

/** The settings that name each TLS file, for an error an operator can act on. */
const TLS_FILE_SETTINGS = {
  clientCert: 'TEMPORAL_TLS_CLIENT_CERT_PATH',
  clientKey: 'TEMPORAL_TLS_CLIENT_KEY_PATH',
  serverCACert: 'TEMPORAL_TLS_SERVER_CA_CERT_PATH',
} as const;

/**
 * How clients and workers reach Temporal: plain gRPC for the local dev server; TLS, with a client certificate
 * (mTLS: self-hosted, or Temporal Cloud) or an API key (Temporal Cloud), for a production cluster. TLS is on once
 * any TLS setting or an API key is given (config.temporalTls, read by @temporalio/envconfig), unless TEMPORAL_TLS
 * is false.
 */
export function temporalConnectionOptions(config: ConnectionConfig): TemporalConnectionOptions {
  const options: TemporalConnectionOptions = { address: config.TEMPORAL_ADDRESS };
  if (config.TEMPORAL_API_KEY) options.apiKey = config.TEMPORAL_API_KEY;
  const tls = config.temporalTls;
  const host = config.TEMPORAL_ADDRESS.slice(0, config.TEMPORAL_ADDRESS.lastIndexOf(':'));
  if (tls?.disabled === true && config.TEMPORAL_API_KEY && !isLoopbackHost(host)) {
    // The key is a bearer token: in clear, anyone on the path may use it. Only a local proxy may take it so.
    throw new ConfigError(
      `invalid setting TEMPORAL_TLS: false would send TEMPORAL_API_KEY in clear to ${host}; ` +
        'without TLS the key goes only to a loopback address (a local proxy)',
    );
  }
  if (tls?.disabled === true || (tls === undefined && !config.TEMPORAL_API_KEY)) return options;
  const read = (file: keyof typeof TLS_FILE_SETTINGS) => {
    const source = tls?.[file];
    if (source === undefined) return undefined;
    if ('data' in source) return Buffer.from(source.data);
    try {
      return readFileSync(source.path);
    } catch (error) {
      throw new ConfigError(
        `invalid setting ${TLS_FILE_SETTINGS[file]}: cannot read ${source.path} (${(error as NodeJS.ErrnoException).code})`,
      );
    }
  };
  const [crt, key, serverRootCACertificate] = [read('clientCert'), read('clientKey'), read('serverCACert')];
  options.tls = {
    ...(tls?.serverName && { serverNameOverride: tls.serverName }),
    ...(serverRootCACertificate && { serverRootCACertificate }),
    ...(crt && key && { clientCertPair: { crt, key } }),
  };
  return options;
}

/** A connection failure in words an operator can act on: where, how, and which settings to check. */
export function connectionError(options: TemporalConnectionOptions, error: unknown): Error {
  const how = options.tls ? ' over TLS' : '';
  const check = options.tls
    ? 'check TEMPORAL_ADDRESS, the TEMPORAL_TLS_* settings and TEMPORAL_API_KEY'
    : 'is the server running (`npm run stack`)? Check TEMPORAL_ADDRESS, and TEMPORAL_TLS for a cluster that needs TLS';
  return new Error(`cannot reach Temporal at ${options.address}${how}: ${(error as Error).message}; ${check}`);
}
