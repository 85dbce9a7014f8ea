import { open } from './aead';
import { canonicalValue, type PiiField } from './canonical-pii';
import type { Keyring, KeySet } from './keys';
import type { RowOf, VAULT_COLUMNS } from './loaded-columns';
import { tokenize } from './mask';
import { openSealed, sealerFor, type OperatorPrivateKey, type OperatorPublicKey, type Sealer } from './operator-seal';

/** One vault record: the canonical value behind a token, sealed to the operator key. */
export type VaultEntry = Omit<RowOf<typeof VAULT_COLUMNS>, 'field'> & { field: PiiField };

/** A vault entry as stored: entries written before 0.4.0 name no sealing key (the root's vault key sealed them). */
export type StoredVaultEntry = Omit<VaultEntry, 'seal_key_id'> & { seal_key_id: string | null };

/** What opens sealed values: the operator's private key, and the root for values sealed before 0.4.0. */
export interface OpeningKeys {
  operator: OperatorPrivateKey;
  keyring: Keyring;
}

/** Binds a sealed value to its field, token and key version: an entry moved to another token will not open. */
const associatedData = (field: PiiField, token: string, version: number) =>
  Buffer.from(`login-etl/vault\u0000${field}\u0000${token}\u0000v${version}`, 'utf8');

/** Seals values of one batch to one operator key (one sealing session). */
export interface VaultSealer {
  keyId: string;
  seal: Sealer;
}

export const vaultSealer = (recipient: OperatorPublicKey): VaultSealer => ({
  keyId: recipient.id,
  seal: sealerFor(recipient),
});

export function sealVaultEntry(
  sealer: VaultSealer,
  version: number,
  field: PiiField,
  token: string,
  canonical: string,
): VaultEntry {
  const sealed = sealer.seal(Buffer.from(canonical, 'utf8'), associatedData(field, token, version));
  return { field, token, key_version: version, value_sealed: sealed.toString('base64'), seal_key_id: sealer.keyId };
}

export function openVaultEntry(keys: OpeningKeys, entry: StoredVaultEntry): string {
  const aad = associatedData(entry.field, entry.token, entry.key_version);
  const sealed = Buffer.from(entry.value_sealed, 'base64');
  if (entry.seal_key_id === null)
    return open(keys.keyring.legacyVaultKey(entry.key_version), sealed, aad).toString('utf8');
  if (entry.seal_key_id !== keys.operator.id) {
    throw new Error(
      `the value is sealed to operator key ${entry.seal_key_id}, not to the one given (${keys.operator.id})`,
    );
  }
  return openSealed(keys.operator, sealed, aad).toString('utf8');
}

/**
 * A vault entry whose value is not the one its token was made from: anyone who may insert vault rows and holds the
 * operator's public key (a worker) could seal another person's value under their own token. Never revealed or
 * carried into a rotation.
 */
export class VaultMismatchError extends Error {
  override name = 'VaultMismatchError';
  constructor(readonly field: PiiField) {
    super(`the vault entry of that ${field} token holds a value whose token differs: it was planted or corrupted`);
  }
}

/** Opens an entry and checks that its value gives its token under its key version (VaultMismatchError if not). */
export function openVerifiedVaultEntry(keys: OpeningKeys, entry: StoredVaultEntry): string {
  const value = openVaultEntry(keys, entry);
  const token = tokenize(keys.keyring.keySet(entry.key_version), entry.field, canonicalValue(entry.field, value));
  if (token !== entry.token) throw new VaultMismatchError(entry.field);
  return value;
}

/** A value's token and vault entry under another key version, sealed to the operator key anew (rotation). */
export function rekeyVaultEntry(
  keys: OpeningKeys,
  sealer: VaultSealer,
  entry: StoredVaultEntry,
  to: KeySet,
): VaultEntry {
  const value = canonicalValue(entry.field, openVerifiedVaultEntry(keys, entry));
  return sealVaultEntry(sealer, to.version, entry.field, tokenize(to, entry.field, value), value);
}
