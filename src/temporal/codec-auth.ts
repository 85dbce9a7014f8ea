import { createHash, timingSafeEqual } from 'node:crypto';
import { createRemoteJWKSet, jwtVerify, type JWTVerifyGetKey } from 'jose';

export interface CodecAuthSettings {
  /** A shared bearer token, for the Temporal CLI (`--codec-auth`). */
  staticToken?: string;
  /**
   * The identity provider's JWKS URL: the Web UI forwards the signed-in user's OIDC access token
   * (`TEMPORAL_CODEC_PASS_ACCESS_TOKEN=true`), verified against it.
   */
  jwksUrl?: string;
  issuer?: string;
  audience?: string;
  /** A claim an OIDC token must carry to decode (a group or role), as the claim's name and one of its values. */
  requiredClaim?: { name: string; value: string };
}

/** Who called: the token's subject (and e-mail when it has one), `static-token`, or `anonymous` with auth off. */
export type Authenticate = (authorization: string | undefined) => Promise<string>;

export class UnauthenticatedError extends Error {
  override name = 'UnauthenticatedError';
}

/** Asymmetric algorithms only: a JWKS publishes public keys, and `none` or HMAC tokens must never pass. */
const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'EdDSA'];

const digest = (value: string) => createHash('sha256').update(value).digest();

/**
 * An access token lives minutes to hours: one older than this (by its `iat`), or valid for longer (by its `exp`),
 * is refused, so a token leaked from a log or a browser does not open payloads for years.
 */
const MAX_TOKEN_LIFETIME_SECONDS = 24 * 60 * 60;

export const authIsOn = (settings: CodecAuthSettings): boolean =>
  settings.staticToken !== undefined || settings.jwksUrl !== undefined;

export function createCodecAuth(settings: CodecAuthSettings): Authenticate {
  if (!authIsOn(settings)) return () => Promise.resolve('anonymous');
  const expected = settings.staticToken ? digest(settings.staticToken) : undefined;
  // jose caches the key set and fetches it again (at most every 30 s) when a token names an unknown key id.
  const keys: JWTVerifyGetKey | undefined = settings.jwksUrl
    ? createRemoteJWKSet(new URL(settings.jwksUrl))
    : undefined;
  return async (authorization) => {
    const token = /^Bearer (\S+)$/i.exec(authorization ?? '')?.[1];
    if (!token) throw new UnauthenticatedError('missing bearer token');
    if (expected && timingSafeEqual(expected, digest(token))) return 'static-token';
    if (!keys) throw new UnauthenticatedError('wrong bearer token');
    try {
      const { payload } = await jwtVerify(token, keys, {
        algorithms: ALGORITHMS,
        issuer: settings.issuer,
        audience: settings.audience,
        clockTolerance: 30,
        requiredClaims: ['exp', 'iat', 'sub'],
        maxTokenAge: MAX_TOKEN_LIFETIME_SECONDS,
      });
      if (!payload.sub) throw new UnauthenticatedError('the token names no subject');
      const required = settings.requiredClaim;
      if (required && !claimHolds(payload[required.name], required.value)) {
        throw new UnauthenticatedError(`the token's ${required.name} claim does not grant decoding`);
      }
      if (payload.exp! - payload.iat! > MAX_TOKEN_LIFETIME_SECONDS) {
        throw new UnauthenticatedError('the token is valid for longer than a day');
      }
      const email = typeof payload.email === 'string' ? ` <${payload.email}>` : '';
      return `${payload.sub}${email}`;
    } catch (error) {
      if (error instanceof UnauthenticatedError) throw error;
      throw new UnauthenticatedError(`token refused: ${(error as Error).message}`);
    }
  };
}

/** A claim that is the value, or a list (groups, roles) that holds it. */
const claimHolds = (claim: unknown, value: string): boolean =>
  claim === value || (Array.isArray(claim) && claim.includes(value));
