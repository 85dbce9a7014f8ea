import { createHash, hkdfSync } from 'node:crypto';

/** A 256-bit key and the id that travels with whatever it produced, so a reader knows which key to use. */
export interface VersionedKey {
  id: string;
  key: Buffer;
}

/** Every key the pipeline uses, each derived from one root secret so that no key serves two purposes. */
export interface PipelineKeys {
  ipToken: VersionedKey;
  deviceIdToken: VersionedKey;
  quarantineBody: VersionedKey;
  temporalCodec: VersionedKey;
}

const KEY_VERSION = 'v1';

export const MIN_ROOT_SECRET_BYTES = 32;

export function deriveKeys(rootSecret: Buffer): PipelineKeys {
  if (rootSecret.length < MIN_ROOT_SECRET_BYTES) {
    throw new Error(`the root secret must be at least ${MIN_ROOT_SECRET_BYTES} bytes`);
  }
  const derive = (purpose: string): VersionedKey => {
    const key = Buffer.from(hkdfSync('sha256', rootSecret, 'login-etl', `${purpose}/${KEY_VERSION}`, 32));
    // The id names the version and a fingerprint, so a wrong key is caught instead of producing garbage.
    const fingerprint = createHash('sha256').update(key).digest('hex').slice(0, 12);
    return { id: `${purpose}/${KEY_VERSION}/${fingerprint}`, key };
  };
  return {
    ipToken: derive('ip-token'),
    deviceIdToken: derive('device-id-token'),
    quarantineBody: derive('quarantine-body'),
    temporalCodec: derive('temporal-codec'),
  };
}
