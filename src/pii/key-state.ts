import type { Pool } from 'pg';
import { FAILURE_TYPES } from '../core/failure-types';
import type { Keyring } from '../core/keys';

export interface KeyState {
  activeVersion: number;
  rootFingerprint: string | null;
  /** The root a root rotation moved away from. */
  previousRootFingerprint?: string | null;
}

/** The process holds a root key other than the one the database's tokens and vault were made with. */
export class RootKeyMismatchError extends Error {
  override name = FAILURE_TYPES.rootKeyMismatch;
  constructor(held: string, recorded: string) {
    super(
      `the PII root key (fingerprint ${held}) is not the one this database was written with (fingerprint ${recorded}): ` +
        'check PII_HMAC_KEY / PII_KEY_FILE',
    );
  }
}

export async function readKeyState(pool: Pick<Pool, 'query'>): Promise<KeyState> {
  const { rows } = await pool.query<{
    active_version: number;
    root_fingerprint: string | null;
    previous_root_fingerprint: string | null;
  }>('SELECT active_version, root_fingerprint, previous_root_fingerprint FROM pii_key_state');
  return {
    activeVersion: rows[0]!.active_version,
    rootFingerprint: rows[0]!.root_fingerprint,
    previousRootFingerprint: rows[0]!.previous_root_fingerprint,
  };
}

/**
 * Records the root key's fingerprint on first use, refuses any other root later; the active key version. Through
 * pii_claim_root, so a worker may claim the root without the right to change the key state.
 */
export async function claimKeyState(pool: Pick<Pool, 'query'>, keyring: Keyring): Promise<number> {
  const { rows } = await pool.query<{ active_version: number; root_fingerprint: string | null }>(
    'SELECT active_version, root_fingerprint FROM pii_claim_root($1)',
    [keyring.rootFingerprint],
  );
  const state = { activeVersion: rows[0]!.active_version, rootFingerprint: rows[0]!.root_fingerprint };
  assertSameRoot(state, keyring);
  return state.activeVersion;
}

export function assertSameRoot(state: KeyState, keyring: Keyring): void {
  if (state.rootFingerprint !== keyring.rootFingerprint) {
    throw new RootKeyMismatchError(keyring.rootFingerprint, state.rootFingerprint ?? 'none');
  }
}

export interface KeyVersionCache {
  /** The active key version, read from the database at most every few seconds. */
  current(): Promise<number>;
  /** A version learnt elsewhere (a load that found its batch stale). */
  observe(version: number): void;
}

/**
 * Masking asks for the version often; a stale answer costs only a re-key at load time, where the version is
 * checked under a lock, so a short cache is safe, and so is the last known version when Postgres is unreachable:
 * masking must not fail (and exhaust its retries) during a database outage that loading simply waits out.
 */
export function createKeyVersionCache(
  pool: Pick<Pool, 'query'>,
  initialVersion?: number,
  maxAgeMs = 5_000,
): KeyVersionCache {
  let known = initialVersion === undefined ? undefined : { version: initialVersion, at: Date.now() };
  return {
    async current() {
      if (!known || Date.now() - known.at >= maxAgeMs) {
        try {
          known = { version: (await readKeyState(pool)).activeVersion, at: Date.now() };
        } catch (error) {
          if (!known) throw error;
        }
      }
      return known.version;
    },
    observe(version) {
      known = { version, at: Date.now() };
    },
  };
}
