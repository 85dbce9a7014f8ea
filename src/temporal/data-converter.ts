import type { DataConverter } from '@temporalio/common';
import type { Keyring } from '../core/keys';
import { EncryptionCodec } from './encryption-codec';

export const FAILURE_CONVERTER_PATH = require.resolve('./failure-converter');

export function createPayloadCodec(keyring: Pick<Keyring, 'codec' | 'byId'>): EncryptionCodec {
  return new EncryptionCodec(keyring.codec, (id) => keyring.byId(id));
}

/** The one data converter of every client and worker: encrypted payloads and encoded failures. */
export function createDataConverter(keyring: Pick<Keyring, 'codec' | 'byId'>): DataConverter {
  return { payloadCodecs: [createPayloadCodec(keyring)], failureConverterPath: FAILURE_CONVERTER_PATH };
}
