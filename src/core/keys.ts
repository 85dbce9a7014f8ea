import { createHash, hkdfSync } from 'node:crypto';

/** A 256-bit key and the id that travels with whatever it produced, so a reader knows which key to use. */
export interface VersionedKey {
  /** `purpose/v<version>/<fingerprint>`. */
  id: string;
  version: number;
  key: Buffer;
}

type KeyPurpose =
  | 'ip-token'
  | 'device-id-token'
  | 'erased-token'
  | 'vault'
  | 'quarantine-body'
  | 'temporal-codec'
  | 'redrive-attestation'
  | 'token-alias';

/** The token keys of one PII key version: what new data is masked with while that version is active. */
export interface KeySet {
  version: number;
  ipToken: VersionedKey;
  deviceIdToken: VersionedKey;
  /** Re-tokenizes the token of an erased value (no value left to tokenize) when its version is retired. */
  erasedToken: VersionedKey;
}

/**
 * Every key the pipeline uses, derived (HKDF-SHA256) from one root secret so that no key serves two purposes and
 * a new version is a new label, not a new secret to distribute. Where the root comes from (a setting, a file, a
 * KMS-wrapped data key) is the caller's business: the keyring only sees its bytes.
 */
export interface Keyring {
  /** Names the root without revealing it: the database records it, so a worker with another root is refused. */
  rootFingerprint: string;
  keySet(version: number): KeySet;
  /** The Temporal payload codec's key; payloads carry its id, so old histories stay readable. */
  codec: VersionedKey;
  /** Signs what the DLQ tool's redrive carries over (core/redrive-attestation.ts); for nothing else. */
  redrive: VersionedKey;
  /**
   * Keys the tokens a rotation replaced (core/mask.ts aliasOf), so that only this root follows one to its current
   * token: a replaced root can compute its old tokens but not their aliases.
   */
  tokenAlias: VersionedKey;
  /** The key a stored key id names, if this root derived it (the fingerprint tells a different root apart). */
  byId(id: string): VersionedKey | undefined;
  /**
   * The symmetric vault key of a version: what vault entries written before 0.4.0 were sealed with (they name no
   * sealing key). Newer entries are sealed to the operator's public key (core/operator-seal.ts).
   */
  legacyVaultKey(version: number): VersionedKey;
}

const MIN_ROOT_SECRET_BYTES = 32;
const CODEC_KEY_VERSION = 1;
const KEY_ID =
  /^(ip-token|device-id-token|erased-token|vault|quarantine-body|temporal-codec)\/v(\d{1,6})\/[0-9a-f]{12}$/;

/** The version part of a key id (`purpose/v<N>/<fingerprint>`). */
export const versionLabel = (version: number): string => `v${version}`;

const fingerprint = (key: Buffer) => createHash('sha256').update(key).digest('hex').slice(0, 12);

const CODEC_KEY_BYTES = 32;

/**
 * The payload codec's key on its own (the codec server's setting): the id is the one the root derives for the
 * same bytes, so payloads written by workers holding the root open with it.
 */
export function codecKeyFromBytes(key: Buffer): VersionedKey {
  if (key.length !== CODEC_KEY_BYTES) throw new Error(`the codec key must be ${CODEC_KEY_BYTES} bytes (64 hex digits)`);
  return {
    id: `temporal-codec/${versionLabel(CODEC_KEY_VERSION)}/${fingerprint(key)}`,
    version: CODEC_KEY_VERSION,
    key,
  };
}

export function createKeyring(rootSecret: Buffer): Keyring {
  if (rootSecret.length < MIN_ROOT_SECRET_BYTES) {
    throw new Error(`the root secret must be at least ${MIN_ROOT_SECRET_BYTES} bytes`);
  }
  const compute = (purpose: KeyPurpose, version: number): VersionedKey => {
    if (!Number.isInteger(version) || version < 1) throw new Error(`key version must be a positive integer`);
    const label = `${purpose}/${versionLabel(version)}`;
    const key = Buffer.from(hkdfSync('sha256', rootSecret, 'login-etl', label, 32));
    return { id: `${label}/${fingerprint(key)}`, version, key };
  };
  // Only the versions the pipeline itself asks for are cached: byId takes ids from stored data and is not.
  const cache = new Map<string, VersionedKey>();
  const derive = (purpose: KeyPurpose, version: number): VersionedKey => {
    const label = `${purpose}/${versionLabel(version)}`;
    let derived = cache.get(label);
    if (!derived) {
      derived = compute(purpose, version);
      cache.set(label, derived);
    }
    return derived;
  };
  const rootCheck = Buffer.from(hkdfSync('sha256', rootSecret, 'login-etl', 'root-fingerprint', 32));
  return {
    rootFingerprint: fingerprint(rootCheck),
    keySet: (version) => ({
      version,
      ipToken: derive('ip-token', version),
      deviceIdToken: derive('device-id-token', version),
      erasedToken: derive('erased-token', version),
    }),
    legacyVaultKey: (version) => derive('vault', version),
    codec: derive('temporal-codec', CODEC_KEY_VERSION),
    redrive: derive('redrive-attestation', 1),
    tokenAlias: derive('token-alias', 1),
    byId(id) {
      const match = KEY_ID.exec(id);
      if (!match) return undefined;
      const key = compute(match[1] as KeyPurpose, Number(match[2]));
      return key.id === id ? key : undefined;
    },
  };
}
