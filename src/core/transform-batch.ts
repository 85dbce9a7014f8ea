import { seal } from './aead';
import type { VersionedKey } from './keys';
import type { LoginEvent } from './login-event';
import type { Masker } from './mask';
import type { LoginRow, QuarantineRecord, ReceivedMessage, TransformedBatch } from './types';
import { validateLoginMessage } from './validate-message';

export interface TransformDeps {
  masker: Masker;
  quarantineKey: VersionedKey;
}

/** Validates and masks each message: a valid one becomes a row, any other a quarantine record. */
export function transformBatch(messages: ReceivedMessage[], deps: TransformDeps): TransformedBatch {
  const batch: TransformedBatch = { rows: [], quarantined: [] };
  for (const message of messages) {
    if (message.body === null) {
      batch.quarantined.push(quarantine(message, message.rejectedReason ?? 'body was not received', null, deps));
      continue;
    }
    const result = validateLoginMessage(message.body);
    if (result.ok) batch.rows.push(buildRow(message, result.event, result.appVersion, deps.masker));
    else batch.quarantined.push(quarantine(message, result.reason, message.body, deps));
  }
  return batch;
}

export function buildRow(message: ReceivedMessage, event: LoginEvent, appVersion: number, masker: Masker): LoginRow {
  const sentAt = new Date(message.sentTimestamp).toISOString();
  return {
    message_id: message.messageId,
    user_id: event.user_id,
    device_type: event.device_type,
    masked_ip: masker.maskIp(event.ip),
    masked_device_id: masker.maskDeviceId(event.device_id),
    locale: event.locale,
    app_version: appVersion,
    app_version_text: event.app_version,
    // The event carries no time of its own; the date it was sent to the queue is the login date.
    create_date: sentAt.slice(0, 10),
    sent_at: sentAt,
  };
}

/** A record for a message (or a row the database refused) that keeps its content sealed for operators. */
export function quarantine(
  message: Pick<ReceivedMessage, 'messageId' | 'sentTimestamp' | 'bodyBytes'> & { receiveCount: number | null },
  reason: string,
  content: string | null,
  deps: Pick<TransformDeps, 'quarantineKey'>,
): QuarantineRecord {
  return {
    message_id: message.messageId,
    reason,
    sent_at: new Date(message.sentTimestamp).toISOString(),
    receive_count: message.receiveCount,
    body_bytes: message.bodyBytes,
    // The message id is bound as associated data, so a sealed body cannot be passed off as another message's.
    body_sealed:
      content === null
        ? null
        : seal(deps.quarantineKey, Buffer.from(content, 'utf8'), Buffer.from(message.messageId)).toString('base64'),
    body_key_id: content === null ? null : deps.quarantineKey.id,
  };
}
