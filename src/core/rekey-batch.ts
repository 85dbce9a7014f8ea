import type { Keyring, KeySet } from './keys';
import { resealQuarantineBody } from './quarantine-record';
import type { TransformedBatch } from './types';
import { rekeyVaultEntry } from './vault';

/**
 * A batch masked with an older key version, re-made under `to` from its own vault entries: a worker that masked
 * before a rotation never writes tokens the rotation has already moved past.
 */
export function rekeyBatch(batch: TransformedBatch, keyring: Keyring, to: KeySet): TransformedBatch {
  const newToken = new Map<string, string>();
  const vault = batch.vault.map((entry) => {
    const rekeyed = rekeyVaultEntry(keyring, entry, to);
    newToken.set(`${entry.field}:${entry.token}`, rekeyed.token);
    return rekeyed;
  });
  const lookup = (slot: string) => {
    const token = newToken.get(slot);
    if (token === undefined) throw new Error('a row token has no vault entry in its batch');
    return token;
  };
  return {
    batchId: batch.batchId,
    keyVersion: to.version,
    rows: batch.rows.map((row) => ({
      ...row,
      masked_ip: lookup(`ip:${row.masked_ip}`),
      masked_device_id: lookup(`device_id:${row.masked_device_id}`),
    })),
    quarantined: batch.quarantined.map((record) => resealQuarantineBody(keyring, record, to)),
    vault,
  };
}
