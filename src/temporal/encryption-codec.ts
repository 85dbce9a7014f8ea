import type { Payload, PayloadCodec } from '@temporalio/common';
import { METADATA_ENCODING_KEY } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { open, seal } from '../core/aead';
import type { VersionedKey } from '../core/keys';

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const KEY_ID_METADATA = 'encryption-key-id';

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
      payloads.map((payload) => ({
        metadata: {
          [METADATA_ENCODING_KEY]: utf8(ENCRYPTED_ENCODING),
          [KEY_ID_METADATA]: utf8(this.currentKey.id),
        },
        data: seal(this.currentKey, temporal.api.common.v1.Payload.encode(payload).finish()),
      })),
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
        return temporal.api.common.v1.Payload.decode(open(key, payload.data));
      }),
    );
  }
}
