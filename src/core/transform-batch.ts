import { canonicalDeviceId, canonicalIp, type PiiField } from './canonical-pii';
import type { KeySet } from './keys';
import type { OperatorPublicKey } from './operator-seal';
import type { LoginEvent } from './login-event';
import { tokenize } from './mask';
import { quarantine } from './quarantine-record';
import type { LoginRow, QuarantineRecord, ReceivedMessage, TransformedBatch } from './types';
import { validateLoginMessage } from './validate-message';
import { sealVaultEntry, vaultSealer, type VaultEntry, type VaultSealer } from './vault';

/**
 * Validates and masks each message with one key version: a valid one becomes a row (and a vault entry per new
 * token, sealed to the operator key), any other a quarantine record. `batchId` is new for each masking
 * (TransformedBatch.batchId).
 */
export function transformBatch(
  messages: ReceivedMessage[],
  keys: KeySet,
  sealTo: OperatorPublicKey,
  batchId: string,
): TransformedBatch {
  const batch: TransformedBatch = { batchId, keyVersion: keys.version, rows: [], quarantined: [], vault: [] };
  const sealer = vaultSealer(sealTo);
  const vault = new Map<string, VaultEntry>();
  for (const message of messages) {
    // One message's fault (a value no step foresaw) quarantines that message, never the batch.
    try {
      if (message.body === null) {
        batch.quarantined.push(quarantine(message, message.rejectedReason ?? 'body was not received', null, sealer));
        continue;
      }
      const result = validateLoginMessage(message.body);
      if (!result.ok) {
        batch.quarantined.push(quarantine(message, result.reason, message.body, sealer));
        continue;
      }
      // Vault entries of this message join the batch's only once its row is built.
      const entries: [string, () => VaultEntry][] = [];
      const tokenOf = (field: PiiField, canonical: string): string => {
        const token = tokenize(keys, field, canonical);
        entries.push([`${field}:${token}`, () => sealVaultEntry(sealer, keys.version, field, token, canonical)]);
        return token;
      };
      batch.rows.push(buildRow(message, result.event, result.appVersion, tokenOf));
      for (const [slot, entry] of entries) if (!vault.has(slot)) vault.set(slot, entry());
    } catch (error) {
      batch.quarantined.push(unmaskable(message, error, sealer));
    }
  }
  batch.vault = [...vault.values()];
  return batch;
}

/** The record of a message that failed in masking: its reason names the error's kind only (a message could echo a value). */
function unmaskable(message: ReceivedMessage, error: unknown, sealer: VaultSealer): QuarantineRecord {
  const reason = `could not be masked (${error instanceof Error ? error.name : typeof error})`;
  try {
    return quarantine(message, reason, message.body, sealer);
  } catch {
    return quarantine(message, reason, null, sealer);
  }
}

function buildRow(
  message: ReceivedMessage,
  event: LoginEvent,
  appVersion: number,
  tokenOf: (field: PiiField, canonical: string) => string,
): LoginRow {
  const sentAt = new Date(message.sentTimestamp).toISOString();
  const ip = canonicalIp(event.ip);
  return {
    message_id: message.messageId,
    user_id: event.user_id,
    device_type: event.device_type,
    masked_ip: tokenOf('ip', ip.value),
    masked_device_id: tokenOf('device_id', canonicalDeviceId(event.device_id)),
    ip_valid: ip.isIp,
    locale: event.locale,
    app_version: appVersion,
    app_version_text: event.app_version,
    // The event carries no time of its own; the date it was sent to the queue is the login date.
    create_date: sentAt.slice(0, 10),
    sent_at: sentAt,
    sent_at_source: message.sentAtSource ?? 'sqs',
  };
}
