import { Client, Connection } from '@temporalio/client';
import type { Config } from '../config';
import type { Keyring } from '../core/keys';
import { loadPreviousCodecKeys } from '../secrets';
import { connectionError, temporalConnectionOptions } from './connection-options';
import { createDataConverter } from './data-converter';

/** gRPC's default of 4 MB is less than one page of history of a drain with large batches. */
const MAX_RECEIVE_BYTES = 64 * 1024 * 1024;

export async function connectClient(
  config: Parameters<typeof temporalConnectionOptions>[0] &
    Pick<Config, 'TEMPORAL_NAMESPACE' | 'CODEC_PREVIOUS_KEY_FILE'>,
  keyring: Pick<Keyring, 'codec'>,
): Promise<Client> {
  const options = temporalConnectionOptions(config);
  const connection = await Connection.connect({
    ...options,
    channelArgs: { 'grpc.max_receive_message_length': MAX_RECEIVE_BYTES },
  }).catch((error: unknown) => {
    throw connectionError(options, error);
  });
  return new Client({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    dataConverter: createDataConverter(keyring, loadPreviousCodecKeys(config)),
  });
}
