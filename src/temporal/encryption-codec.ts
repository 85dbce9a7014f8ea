import type { Payload, PayloadCodec, SerializationContext } from '@temporalio/common';
import { METADATA_ENCODING_KEY } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { open, seal } from '../core/aead';
import type { VersionedKey } from '../core/keys';
import { REFUSED_PAYLOAD } from '../core/refused-payload';

const ENCRYPTED_ENCODING = 'binary/encrypted';
export const KEY_ID_METADATA = 'encryption-key-id';
export const COMPRESSION_METADATA = 'encryption-compression';
/**
 * The workflow a payload belongs to (the SDK's serialization context), bound to the ciphertext as associated data:
 * the codec server logs it with each decode, and a payload relabelled with another workflow does not open.
 */
export const WORKFLOW_ID_METADATA = 'encryption-workflow-id';

const utf8 = (value: string) => Buffer.from(value, 'utf8');

/** Unencrypted payloads that decode as themselves: a null (no value) carries nothing. */
export const PLAIN_ENCODINGS_ALLOWED = ['binary/null'];

/** Every other unencrypted payload decodes as this (core/refused-payload.ts). */
const REFUSED: Payload = {
  metadata: { [METADATA_ENCODING_KEY]: utf8('json/plain') },
  data: utf8(JSON.stringify(REFUSED_PAYLOAD)),
};

/** Smaller payloads are not worth compressing. */
const COMPRESS_FROM_BYTES = 1024;

/** What one decode call may inflate to in all: far above any payload of the pipeline's, far below a bomb's. */
const DEFAULT_DECODE_BUDGET_BYTES = 64 * 1024 * 1024;

/**
 * Encrypts each whole payload (metadata and data) with AES-256-GCM, so Temporal's history holds no message
 * content in clear; the key id rides in the payload's metadata. It encodes with one key and opens only what names
 * that key or one of the earlier keys it was given (the codec keys of roots replaced by `pii rotate-root`). An
 * unencrypted payload, which anyone who may call Temporal's API can write, decodes as a refusal marker (a throw would
 * fail the workflow task on every retry, stalling the drain).
 */
export class EncryptionCodec implements PayloadCodec {
  private readonly decodeKeys: ReadonlyMap<string, VersionedKey>;

  constructor(
    private readonly currentKey: VersionedKey,
    previousKeys: readonly VersionedKey[] = [],
  ) {
    this.decodeKeys = new Map([...previousKeys, currentKey].map((key) => [key.id, key]));
  }

  /** Whether a payload naming this key id opens here. */
  opens(keyId: string): boolean {
    return this.decodeKeys.has(keyId);
  }

  // The work is synchronous; running it inside then() turns a throw into the rejection callers expect.
  encode(payloads: Payload[], context?: SerializationContext): Promise<Payload[]> {
    const workflowId = context?.workflowId;
    const associatedData = workflowId === undefined ? undefined : utf8(workflowId);
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
            ...(associatedData ? { [WORKFLOW_ID_METADATA]: associatedData } : {}),
          },
          data: seal(this.currentKey, compressed ? deflateRawSync(plain, { level: 1 }) : plain, associatedData),
        };
      }),
    );
  }

  decode(payloads: Payload[]): Promise<Payload[]> {
    return this.decodeWithin(payloads, DEFAULT_DECODE_BUDGET_BYTES);
  }

  /** Decodes, inflating no more than `budgetBytes` over all the payloads (a deflate bomb stops there). */
  decodeWithin(payloads: Payload[], budgetBytes: number): Promise<Payload[]> {
    return Promise.resolve().then(() => {
      let left = budgetBytes;
      return payloads.map((payload) => {
        if (!isEncrypted(payload))
          return PLAIN_ENCODINGS_ALLOWED.includes(encodingOf(payload) ?? '') ? payload : REFUSED;
        const keyId = keyIdOf(payload);
        const key = this.decodeKeys.get(keyId);
        if (!key) {
          throw new Error(
            `payload is encrypted with key "${keyId}", which this process does not hold ` +
              '(written before a rotate-root? CODEC_PREVIOUS_KEY_FILE gives the old codec key)',
          );
        }
        if (!payload.data) throw new Error('encrypted payload has no data');
        const workflowId = payload.metadata?.[WORKFLOW_ID_METADATA];
        const opened = open(key, payload.data, workflowId ?? undefined);
        const compressed = payload.metadata?.[COMPRESSION_METADATA] !== undefined;
        let plain: Buffer;
        try {
          plain = compressed ? inflateRawSync(opened, { maxOutputLength: Math.max(1, left) }) : opened;
        } catch (error) {
          if ((error as { code?: string }).code !== 'ERR_BUFFER_TOO_LARGE') throw error;
          throw new Error(`payloads inflate beyond ${budgetBytes} bytes`, { cause: error });
        }
        left -= plain.length;
        if (left < 0) throw new Error(`payloads inflate beyond ${budgetBytes} bytes`);
        return temporal.api.common.v1.Payload.decode(plain);
      });
    });
  }
}

const textOf = (value: Uint8Array | null | undefined) => (value ? Buffer.from(value).toString() : undefined);

export const encodingOf = (payload: Payload): string | undefined => textOf(payload.metadata?.[METADATA_ENCODING_KEY]);
export const isEncrypted = (payload: Payload): boolean => encodingOf(payload) === ENCRYPTED_ENCODING;
export const keyIdOf = (payload: Payload): string => textOf(payload.metadata?.[KEY_ID_METADATA]) ?? '';
/** The workflow an encrypted payload names; once it has opened, the name is the one it was sealed with. */
export const workflowIdOf = (payload: Payload): string | undefined => textOf(payload.metadata?.[WORKFLOW_ID_METADATA]);
