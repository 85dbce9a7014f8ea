import { createHmac } from 'node:crypto';
import type { PiiField } from './canonical-pii';
import type { KeySet, VersionedKey } from './keys';

/**
 * A keyed token of a canonical value: HMAC-SHA256, hex, prefixed with the key version that made it. Equal values
 * give equal tokens, so duplicates stay joinable, while trying every IPv4 address against a token is useless
 * without the key (a plain hash falls to that in under a second).
 */
export function tokenize(keys: KeySet, field: PiiField, canonical: string): string {
  const key = field === 'ip' ? keys.ipToken : keys.deviceIdToken;
  return `v${keys.version}:${createHmac('sha256', key.key).update(canonical, 'utf8').digest('hex')}`;
}

/**
 * The token an erased value's token becomes under a newer version: equal old tokens stay equal (the rows still
 * count together), and the retired version's key, or an old root, matches nothing in the rows any more.
 */
export function erasedToken(keys: KeySet, field: PiiField, oldToken: string): string {
  return `v${keys.version}:${createHmac('sha256', keys.erasedToken.key).update(`${field}\u0000${oldToken}`, 'utf8').digest('hex')}`;
}

/** The key version a token was made with, or undefined for a value that is not one of our tokens. */
export function tokenVersion(token: string): number | undefined {
  const match = /^v(\d{1,6}):[0-9a-f]{64}$/.exec(token);
  return match ? Number(match[1]) : undefined;
}

/** What `pii_token_aliases` stores for a replaced token: an HMAC under the alias key of the root in use. */
export function aliasOf(aliasKey: VersionedKey, token: string): string {
  return createHmac('sha256', aliasKey.key).update(token, 'utf8').digest('hex');
}
