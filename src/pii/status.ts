import type { Pool } from 'pg';
import { readKeyState } from './key-state';
import { pendingCount, ROOT_SEALED_BODIES } from './rotate';

export interface PiiStatus {
  activeVersion: number;
  rootFingerprint: string | null;
  vaultEntriesByVersion: Record<string, number>;
  /** Vault values and root-sealed quarantined bodies an interrupted rotation has left under an older version. */
  pendingRotation: number;
  /**
   * Quarantined bodies still sealed with a key derived from the root (written before 0.4.0), which every worker
   * holds: `pii rotate` reseals them to the operator key.
   */
  rootSealedBodies: number;
  /** Aliases from before 1.0 that hold the plain replaced token: the next `pii rotate` keys them. */
  plainAliases: number;
  erasures: number;
  auditRows: number;
}

export async function piiStatus(pool: Pool): Promise<PiiStatus> {
  const state = await readKeyState(pool);
  const { rows: versions } = await pool.query<{ key_version: number; entries: number }>(
    `SELECT key_version, count(*)::int AS entries FROM pii_vault WHERE value_sealed IS NOT NULL
      GROUP BY key_version ORDER BY key_version`,
  );
  const { rows } = await pool.query<{
    erasures: number;
    audit_rows: number;
    root_sealed: number;
    plain_aliases: number;
  }>(
    `SELECT (SELECT count(*) FROM pii_vault WHERE value_sealed IS NULL)::int AS erasures,
            (SELECT count(*) FROM pii_audit)::int AS audit_rows,
            (SELECT count(*) FROM quarantined_messages WHERE ${ROOT_SEALED_BODIES})::int AS root_sealed,
            (SELECT count(*) FROM pii_token_aliases WHERE alias_key_id IS NULL)::int AS plain_aliases`,
  );
  return {
    activeVersion: state.activeVersion,
    rootFingerprint: state.rootFingerprint,
    vaultEntriesByVersion: Object.fromEntries(versions.map((v) => [`v${v.key_version}`, v.entries])),
    pendingRotation: await pendingCount(pool, state.activeVersion),
    rootSealedBodies: rows[0]!.root_sealed,
    plainAliases: rows[0]!.plain_aliases,
    erasures: rows[0]!.erasures,
    auditRows: rows[0]!.audit_rows,
  };
}
