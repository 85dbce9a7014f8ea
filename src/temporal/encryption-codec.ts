import type { Payload, PayloadCodec } from '@temporalio/common';
import { METADATA_ENCODING_KEY } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { open, seal } from '../core/aead';
import type { VersionedKey } from '../core/keys';

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const KEY_ID_METADATA = 'encryption-key-id';
export const COMPRESSION_METADATA = 'encryption-compression';

/** Smaller payloads are not worth compressing. */
const COMPRESS_FROM_BYTES = 1024;

const utf8 = (value: string) => Buffer.from(value, 'utf8');

/**
 * Encrypts each whole payload (metadata and data) with AES-256-GCM, so Temporal's history holds no message
 * content in clear; the key id rides in the payload's metadata so old histories stay readable after rotation.
 */
export class EncryptionCodec implements PayloadCodec {
  constructor(
    private readonly currentKey: VersionedKey,
    /** Finds the key a payload names; by default only the current one. */
    private readonly keyById: (id: string) => VersionedKey | undefined = (id) =>
      id === currentKey.id ? currentKey : undefined,
  ) {}

  // The work is synchronous; running it inside then() turns a throw into the rejection callers expect.
  encode(payloads: Payload[]): Promise<Payload[]> {
    return Promise.resolve().then(() =>
      payloads.map((payload) => {
        const plain = temporal.api.common.v1.Payload.encode(payload).finish();
        // Batches are repetitive JSON: deflated, Temporal stores and sends half the bytes or less.
        const compressed = plain.length >= COMPRESS_FROM_BYTES;
        return {
          metadata: {
            [METADATA_ENCODING_KEY]: utf8(ENCRYPTED_ENCODING),
            [KEY_ID_METADATA]: utf8(this.currentKey.id),
            ...(compressed ? { [COMPRESSION_METADATA]: utf8('deflate') } : {}),
          },
          data: seal(this.currentKey, compressed ? deflateRawSync(plain, { level: 1 }) : plain),
        };
      }),
    );
  }

  decode(payloads: Payload[]): Promise<Payload[]> {
    return Promise.resolve().then(() =>
      payloads.map((payload) => {
        const encoding = payload.metadata?.[METADATA_ENCODING_KEY];
        if (!encoding || Buffer.from(encoding).toString() !== ENCRYPTED_ENCODING) return payload;
        const keyIdBytes = payload.metadata?.[KEY_ID_METADATA];
        const keyId = keyIdBytes ? Buffer.from(keyIdBytes).toString() : '';
        const key = this.keyById(keyId);
        if (!key) throw new Error(`payload is encrypted with key "${keyId}", which this process does not hold`);
        if (!payload.data) throw new Error('encrypted payload has no data');
        const opened = open(key, payload.data);
        const compressed = payload.metadata?.[COMPRESSION_METADATA] !== undefined;
        return temporal.api.common.v1.Payload.decode(compressed ? inflateRawSync(opened) : opened);
      }),
    );
  }
}
