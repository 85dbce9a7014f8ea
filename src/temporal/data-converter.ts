import type { DataConverter } from '@temporalio/common';
import type { PipelineKeys } from '../core/keys';
import { EncryptionCodec } from './encryption-codec';

export const FAILURE_CONVERTER_PATH = require.resolve('./failure-converter');

/** The one data converter of every client and worker: encrypted payloads and encoded failures. */
export function createDataConverter(keys: Pick<PipelineKeys, 'temporalCodec'>): DataConverter {
  return {
    payloadCodecs: [new EncryptionCodec(keys.temporalCodec)],
    failureConverterPath: FAILURE_CONVERTER_PATH,
  };
}
