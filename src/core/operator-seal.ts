import {
  createHash,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
  type KeyObject,
} from 'node:crypto';
import { open, seal } from './aead';

/**
 * Values an operator may need later (vault entries, quarantined bodies) are sealed to the operator's X25519 public
 * key: a worker can seal but not open, so a worker host that leaks gives away its keys' tokens, never the vault.
 * Each sealing session (one batch) makes an ephemeral key pair; its Diffie-Hellman secret with the operator key,
 * through HKDF-SHA256, gives an AES-256-GCM key for that session's values. Every sealed value carries the ephemeral
 * public key, so it opens on its own: ephemeral public key (32) ‖ nonce (12) ‖ ciphertext ‖ tag (16).
 */
export interface OperatorPublicKey {
  /** `operator/<fingerprint>`: stored beside each sealed value, so the private key it needs is named. */
  id: string;
  key: KeyObject;
}

export interface OperatorPrivateKey extends OperatorPublicKey {
  publicKey: OperatorPublicKey;
}

const RAW_KEY_BYTES = 32;
const HKDF_INFO = 'login-etl/sealed-to-operator';

const rawPublicKey = (key: KeyObject): Buffer => Buffer.from(key.export({ format: 'jwk' }).x!, 'base64url');
const publicKeyFromRaw = (raw: Buffer): KeyObject =>
  createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: raw.toString('base64url') }, format: 'jwk' });
const keyId = (raw: Buffer) => `operator/${createHash('sha256').update(raw).digest('hex').slice(0, 12)}`;

/** A public key from its base64url (or base64) raw 32 bytes, as `npm run pii -- new-operator-key` prints it. */
export function parseOperatorPublicKey(text: string): OperatorPublicKey {
  const raw = Buffer.from(text.trim(), 'base64url');
  if (raw.length !== RAW_KEY_BYTES) throw new Error(`an operator public key is ${RAW_KEY_BYTES} bytes, base64url`);
  return { id: keyId(raw), key: publicKeyFromRaw(raw) };
}

export function formatOperatorPublicKey(key: OperatorPublicKey): string {
  return rawPublicKey(key.key).toString('base64url');
}

/** A private key from its PKCS#8 PEM. */
export function parseOperatorPrivateKey(pem: string): OperatorPrivateKey {
  const key = createPrivateKey(pem);
  if (key.asymmetricKeyType !== 'x25519')
    throw new Error('the operator private key must be an X25519 key (PKCS#8 PEM)');
  const publicKey = createPublicKey(key);
  const id = keyId(rawPublicKey(publicKey));
  return { id, key, publicKey: { id, key: publicKey } };
}

/** A new operator key pair; the private key as PKCS#8 PEM. */
export function generateOperatorKeyPair(): { privateKeyPem: string; publicKey: OperatorPublicKey } {
  const { privateKey } = generateKeyPairSync('x25519');
  const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  return { privateKeyPem: pem, publicKey: parseOperatorPrivateKey(pem).publicKey };
}

const sessionKey = (shared: Buffer, ephemeral: Buffer, recipient: Buffer) => ({
  id: 'operator-session',
  version: 0,
  key: Buffer.from(hkdfSync('sha256', shared, Buffer.concat([ephemeral, recipient]), HKDF_INFO, 32)),
});

export type Sealer = (plaintext: Uint8Array, associatedData: Uint8Array) => Buffer;

/** A sealing session: one ephemeral key pair for all the values it seals (one Diffie-Hellman per batch, not per value). */
export function sealerFor(recipient: OperatorPublicKey): Sealer {
  const ephemeral = generateKeyPairSync('x25519');
  const ephemeralRaw = rawPublicKey(ephemeral.publicKey);
  const shared = diffieHellman({ privateKey: ephemeral.privateKey, publicKey: recipient.key });
  const key = sessionKey(shared, ephemeralRaw, rawPublicKey(recipient.key));
  return (plaintext, associatedData) => Buffer.concat([ephemeralRaw, seal(key, plaintext, associatedData)]);
}

/** Opens a value sealed to this private key; throws when it was sealed to another key or altered. */
export function openSealed(recipient: OperatorPrivateKey, sealed: Uint8Array, associatedData: Uint8Array): Buffer {
  if (sealed.length <= RAW_KEY_BYTES) throw new Error('sealed data is too short');
  const buffer = Buffer.from(sealed);
  const ephemeralRaw = buffer.subarray(0, RAW_KEY_BYTES);
  const shared = diffieHellman({ privateKey: recipient.key, publicKey: publicKeyFromRaw(ephemeralRaw) });
  const key = sessionKey(shared, ephemeralRaw, rawPublicKey(recipient.publicKey.key));
  return open(key, buffer.subarray(RAW_KEY_BYTES), associatedData);
}
