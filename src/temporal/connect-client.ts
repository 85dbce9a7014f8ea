import { Client, Connection } from '@temporalio/client';
import type { Config } from '../config';
import type { Keyring } from '../core/keys';
import { createDataConverter } from './data-converter';

export async function connectClient(
  config: Pick<Config, 'TEMPORAL_ADDRESS' | 'TEMPORAL_NAMESPACE'>,
  keyring: Pick<Keyring, 'codec' | 'byId'>,
): Promise<Client> {
  const connection = await Connection.connect({ address: config.TEMPORAL_ADDRESS });
  return new Client({ connection, namespace: config.TEMPORAL_NAMESPACE, dataConverter: createDataConverter(keyring) });
}
