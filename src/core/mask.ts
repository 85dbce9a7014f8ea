import { createHmac } from 'node:crypto';
import type { PipelineKeys, VersionedKey } from './keys';

export interface Masker {
  maskIp(ip: string): string;
  maskDeviceId(deviceId: string): string;
}

/**
 * Keyed tokens: HMAC-SHA256, hex. Equal inputs give equal tokens, so duplicates stay joinable, while trying
 * every IPv4 address against a token is useless without the key (a plain hash falls to that in under a second).
 */
export function createMasker(keys: Pick<PipelineKeys, 'ipToken' | 'deviceIdToken'>): Masker {
  const token = (key: VersionedKey, value: string) => createHmac('sha256', key.key).update(value, 'utf8').digest('hex');
  return {
    maskIp: (ip) => token(keys.ipToken, ip),
    maskDeviceId: (deviceId) => token(keys.deviceIdToken, deviceId),
  };
}
