import type { DataConverter } from '@temporalio/common';
import type { Keyring, VersionedKey } from '../core/keys';
import { EncryptionCodec } from './encryption-codec';

export const FAILURE_CONVERTER_PATH = require.resolve('./failure-converter');

/**
 * The codec of the root's codec key, which encodes; payloads may also name a codec key of an earlier root
 * (CODEC_PREVIOUS_KEY_FILE), which only decodes.
 */
export const createPayloadCodec = (
  keyring: Pick<Keyring, 'codec'>,
  previousCodecKeys: readonly VersionedKey[] = [],
): EncryptionCodec => new EncryptionCodec(keyring.codec, previousCodecKeys);

/** The one data converter of every client and worker: encrypted payloads and encoded failures. */
export function createDataConverter(
  keyring: Pick<Keyring, 'codec'>,
  previousCodecKeys: readonly VersionedKey[] = [],
): DataConverter {
  return {
    payloadCodecs: [createPayloadCodec(keyring, previousCodecKeys)],
    failureConverterPath: FAILURE_CONVERTER_PATH,
  };
}
