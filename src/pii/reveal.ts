import type { Pool } from 'pg';
import type { OpeningKeys } from '../core/vault';
import { inTransaction } from '../db/in-transaction';
import { appendAudit } from './audit';
import { claimKeyState } from './key-state';
import { lookUpVault, openLookedUp, resolveTokens, type TokenRef, type TokenSelector } from './lookup';

export type RevealResult = TokenRef &
  (
    | { status: 'revealed'; value: string }
    | { status: 'forgotten'; forgottenAt: Date }
    | { status: 'unknown' }
    /** The entry's value does not give its token: planted or corrupted, so not shown (and recorded in the audit). */
    | { status: 'mismatch' }
  );

/**
 * The value behind each token the selector names, opened with the operator's private key. The audit row (who,
 * when, what, why, and what was found) is committed in the same transaction that reads the sealed value, before
 * anything is decrypted.
 */
export async function reveal(
  pool: Pool,
  keys: OpeningKeys,
  request: TokenSelector & { actor: string; reason: string },
): Promise<RevealResult[]> {
  // Another root could not open older entries; refusing it first keeps the audit trail free of failed decryptions.
  await claimKeyState(pool, keys.keyring);
  const found = await inTransaction(pool, async (client) => {
    const results = [];
    for (const ref of await resolveTokens(client, request, keys.keyring.tokenAlias)) {
      const { entry, erasure } = await lookUpVault(client, ref);
      const status = entry ? 'revealed' : erasure ? 'forgotten' : 'unknown';
      await appendAudit(client, {
        ...ref,
        actor: request.actor,
        action: 'reveal',
        reason: request.reason,
        outcome: ref.asked ? `${status} (asked for a token the rotation replaced)` : status,
      });
      results.push({ ref, entry, erasure });
    }
    return results;
  });
  const results = found.map(({ ref, entry, erasure }): RevealResult => {
    if (entry) {
      const value = openLookedUp(keys, ref, entry);
      return value === undefined ? { ...ref, status: 'mismatch' } : { ...ref, status: 'revealed', value };
    }
    return erasure ? { ...ref, status: 'forgotten', forgottenAt: erasure.forgotten_at } : { ...ref, status: 'unknown' };
  });
  // A planted entry is a finding: the audit trail says so beside the reveal that met it.
  for (const result of results.filter((r) => r.status === 'mismatch')) {
    await inTransaction(pool, (client) =>
      appendAudit(client, {
        ...result,
        actor: request.actor,
        action: 'reveal',
        reason: request.reason,
        outcome: 'refused: the entry does not match its token (planted or corrupted)',
      }),
    );
  }
  return results;
}
