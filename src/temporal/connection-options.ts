import { readFileSync } from 'node:fs';
import type { TLSConfig } from '@temporalio/client';
import { ConfigError, type Config } from '../config';

type ConnectionConfig = Pick<
  Config,
  | 'TEMPORAL_ADDRESS'
  | 'TEMPORAL_API_KEY'
  | 'TEMPORAL_TLS'
  | 'TEMPORAL_TLS_CLIENT_CERT_PATH'
  | 'TEMPORAL_TLS_CLIENT_KEY_PATH'
  | 'TEMPORAL_TLS_SERVER_CA_CERT_PATH'
  | 'TEMPORAL_TLS_SERVER_NAME'
>;

export interface TemporalConnectionOptions {
  address: string;
  tls?: TLSConfig;
  apiKey?: string;
}

/**
 * How clients and workers reach Temporal: plain gRPC for the local dev server; TLS, with a client certificate
 * (mTLS: self-hosted, or Temporal Cloud) or an API key (Temporal Cloud), for a production cluster.
 */
export function temporalConnectionOptions(config: ConnectionConfig): TemporalConnectionOptions {
  const tlsRequested =
    config.TEMPORAL_TLS === true ||
    (config.TEMPORAL_TLS === undefined &&
      [
        config.TEMPORAL_API_KEY,
        config.TEMPORAL_TLS_CLIENT_CERT_PATH,
        config.TEMPORAL_TLS_SERVER_CA_CERT_PATH,
        config.TEMPORAL_TLS_SERVER_NAME,
      ].some((value) => value !== undefined));
  const options: TemporalConnectionOptions = { address: config.TEMPORAL_ADDRESS };
  if (config.TEMPORAL_API_KEY) options.apiKey = config.TEMPORAL_API_KEY;
  if (!tlsRequested) return options;
  const read = (
    setting: 'TEMPORAL_TLS_CLIENT_CERT_PATH' | 'TEMPORAL_TLS_CLIENT_KEY_PATH' | 'TEMPORAL_TLS_SERVER_CA_CERT_PATH',
  ) => {
    const file = config[setting]!;
    try {
      return readFileSync(file);
    } catch (error) {
      throw new ConfigError(
        `invalid setting ${setting}: cannot read ${file} (${(error as NodeJS.ErrnoException).code})`,
      );
    }
  };
  options.tls = {
    ...(config.TEMPORAL_TLS_SERVER_NAME && { serverNameOverride: config.TEMPORAL_TLS_SERVER_NAME }),
    ...(config.TEMPORAL_TLS_SERVER_CA_CERT_PATH && {
      serverRootCACertificate: read('TEMPORAL_TLS_SERVER_CA_CERT_PATH'),
    }),
    ...(config.TEMPORAL_TLS_CLIENT_CERT_PATH && {
      clientCertPair: { crt: read('TEMPORAL_TLS_CLIENT_CERT_PATH'), key: read('TEMPORAL_TLS_CLIENT_KEY_PATH') },
    }),
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
