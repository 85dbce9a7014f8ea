import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { VersionedKey } from './keys';

const NONCE_BYTES = 12;
const TAG_BYTES = 16;

/** AES-256-GCM with a random 96-bit nonce; the output is nonce ‖ ciphertext ‖ tag. */
export function seal(key: VersionedKey, plaintext: Uint8Array, associatedData?: Uint8Array): Buffer {
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key.key, nonce);
  if (associatedData) cipher.setAAD(associatedData);
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([nonce, ciphertext, cipher.getAuthTag()]);
}

export function open(key: VersionedKey, sealed: Uint8Array, associatedData?: Uint8Array): Buffer {
  if (sealed.length < NONCE_BYTES + TAG_BYTES) throw new Error('sealed data is too short');
  const buffer = Buffer.from(sealed);
  const decipher = createDecipheriv('aes-256-gcm', key.key, buffer.subarray(0, NONCE_BYTES));
  if (associatedData) decipher.setAAD(associatedData);
  decipher.setAuthTag(buffer.subarray(buffer.length - TAG_BYTES));
  return Buffer.concat([decipher.update(buffer.subarray(NONCE_BYTES, buffer.length - TAG_BYTES)), decipher.final()]);
}
