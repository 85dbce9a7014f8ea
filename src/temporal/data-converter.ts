import type { DataConverter } from '@temporalio/common';
import type { Keyring } from '../core/keys';
import { EncryptionCodec } from './encryption-codec';

export const FAILURE_CONVERTER_PATH = require.resolve('./failure-converter');

/** The codec of the root's codec key: the only key a payload may name. */
export const createPayloadCodec = (keyring: Pick<Keyring, 'codec'>): EncryptionCodec =>
  new EncryptionCodec(keyring.codec);

/** The one data converter of every client and worker: encrypted payloads and encoded failures. */
export function createDataConverter(keyring: Pick<Keyring, 'codec'>): DataConverter {
  return { payloadCodecs: [createPayloadCodec(keyring)], failureConverterPath: FAILURE_CONVERTER_PATH };
}
