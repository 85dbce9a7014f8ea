/**
 * app_version arrives as text ("2.3.1", "0.96", "2.0") but the reference column is an integer. The encoding
 * major * 1_000_000 + minor * 1_000 + patch keeps version order: components are compared as numbers, a missing
 * patch is 0, so "0.96" is minor 96 (above "0.9.5"), and "2.0", "2.00" and "2.0.0" are all 2000000.
 */
const APP_VERSION_LIMITS = { major: 2146, minor: 999, patch: 999 } as const;

const VERSION_PATTERN = /^(\d{1,4})\.(\d{1,3})(?:\.(\d{1,3}))?$/;

export type AppVersionResult = { ok: true; value: number } | { ok: false; reason: string };

export function encodeAppVersion(text: string): AppVersionResult {
  const match = VERSION_PATTERN.exec(text);
  if (!match) return { ok: false, reason: 'app_version must look like X.Y or X.Y.Z with digits only' };
  const [major, minor, patch] = [match[1], match[2], match[3] ?? '0'].map(Number) as [number, number, number];
  if (major > APP_VERSION_LIMITS.major) {
    return { ok: false, reason: `app_version major must be at most ${APP_VERSION_LIMITS.major}` };
  }
  return { ok: true, value: major * 1_000_000 + minor * 1_000 + patch };
}

/** The canonical "X.Y.Z" text of an encoded version, for reports and docs. */
export function decodeAppVersion(value: number): string {
  return `${Math.floor(value / 1_000_000)}.${Math.floor(value / 1_000) % 1_000}.${value % 1_000}`;
}
