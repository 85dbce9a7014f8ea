import { open, seal } from './aead';
import type { Keyring, KeySet } from './keys';
import type { QuarantineRecord, ReceivedMessage } from './types';

export type QuarantineSource = Pick<ReceivedMessage, 'messageId' | 'sentTimestamp' | 'bodyBytes'> & {
  receiveCount: number | null;
};

/** The message id is bound as associated data, so a sealed body cannot be passed off as another message's. */
const associatedData = (messageId: string) => Buffer.from(messageId, 'utf8');

/** A record for a message (or a row the database refused) that keeps its content sealed for operators. */
export function quarantine(
  message: QuarantineSource,
  reason: string,
  content: string | null,
  keys: Pick<KeySet, 'quarantineBody'>,
): QuarantineRecord {
  return {
    message_id: message.messageId,
    reason,
    sent_at: new Date(message.sentTimestamp).toISOString(),
    receive_count: message.receiveCount,
    body_bytes: message.bodyBytes,
    body_sealed:
      content === null
        ? null
        : seal(keys.quarantineBody, Buffer.from(content, 'utf8'), associatedData(message.messageId)).toString('base64'),
    body_key_id: content === null ? null : keys.quarantineBody.id,
  };
}

type SealedBody = Pick<QuarantineRecord, 'message_id' | 'body_sealed' | 'body_key_id'>;

export function openQuarantineBody(keyring: Keyring, record: SealedBody): string | null {
  if (record.body_sealed === null || record.body_key_id === null) return null;
  const key = keyring.byId(record.body_key_id);
  if (!key) throw new Error(`the body is sealed with key ${record.body_key_id}, which this root key does not derive`);
  return open(key, Buffer.from(record.body_sealed, 'base64'), associatedData(record.message_id)).toString('utf8');
}

/** The same record with its body sealed under another key version. */
export function resealQuarantineBody<T extends SealedBody>(keyring: Keyring, record: T, to: KeySet): T {
  const content = openQuarantineBody(keyring, record);
  if (content === null) return record;
  return {
    ...record,
    body_sealed: seal(to.quarantineBody, Buffer.from(content, 'utf8'), associatedData(record.message_id)).toString(
      'base64',
    ),
    body_key_id: to.quarantineBody.id,
  };
}
