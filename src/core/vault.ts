import { open, seal } from './aead';
import { canonicalValue, type PiiField } from './canonical-pii';
import type { Keyring, KeySet } from './keys';
import type { RowOf, VAULT_COLUMNS } from './loaded-columns';
import { tokenize } from './mask';

/** One vault record: the canonical value behind a token, sealed with the vault key of the token's version. */
export type VaultEntry = Omit<RowOf<typeof VAULT_COLUMNS>, 'field'> & { field: PiiField };

/** Binds a sealed value to its field, token and key version: an entry moved to another token will not open. */
const associatedData = (field: PiiField, token: string, version: number) =>
  Buffer.from(`login-etl/vault\u0000${field}\u0000${token}\u0000v${version}`, 'utf8');

export function sealVaultEntry(keys: KeySet, field: PiiField, token: string, canonical: string): VaultEntry {
  const sealed = seal(keys.vault, Buffer.from(canonical, 'utf8'), associatedData(field, token, keys.version));
  return { field, token, key_version: keys.version, value_sealed: sealed.toString('base64') };
}

export function openVaultEntry(keyring: Keyring, entry: VaultEntry): string {
  const keys = keyring.keySet(entry.key_version);
  const aad = associatedData(entry.field, entry.token, entry.key_version);
  return open(keys.vault, Buffer.from(entry.value_sealed, 'base64'), aad).toString('utf8');
}

/** A value's token and vault entry under another key version: what rotation and a stale batch both need. */
export function rekeyVaultEntry(keyring: Keyring, entry: VaultEntry, to: KeySet): VaultEntry {
  const value = canonicalValue(entry.field, openVaultEntry(keyring, entry));
  return sealVaultEntry(to, entry.field, tokenize(to, entry.field, value), value);
}
