import { open } from './aead';
import { openSealed } from './operator-seal';
import { canonicalValue, type PiiField } from './canonical-pii';
import type { QuarantineRecord, ReceivedMessage } from './types';
import type { OpeningKeys, VaultSealer } from './vault';

export type QuarantineSource = Pick<ReceivedMessage, 'messageId' | 'sentTimestamp' | 'bodyBytes'> & {
  receiveCount: number | null;
};

/** The message id is bound as associated data, so a sealed body cannot be passed off as another message's. */
const associatedData = (messageId: string) => Buffer.from(messageId, 'utf8');

/** A time as Postgres takes it, or null when it is none (the receive gives every message a valid one). */
const isoTime = (milliseconds: number): string | null => {
  const time = new Date(milliseconds);
  return Number.isNaN(time.getTime()) ? null : time.toISOString();
};

/** A record for a message (or a row the database refused) that keeps its content sealed for operators. */
export function quarantine(
  message: QuarantineSource,
  reason: string,
  content: string | null,
  sealer: VaultSealer,
): QuarantineRecord {
  return {
    message_id: message.messageId,
    reason,
    sent_at: isoTime(message.sentTimestamp),
    receive_count: message.receiveCount,
    body_bytes: message.bodyBytes,
    body_sealed:
      content === null
        ? null
        : sealer.seal(Buffer.from(content, 'utf8'), associatedData(message.messageId)).toString('base64'),
    body_key_id: content === null ? null : sealer.keyId,
  };
}

type SealedBody = Pick<QuarantineRecord, 'message_id' | 'body_sealed' | 'body_key_id'>;

/** The body, opened with the operator key (or, sealed before 0.4.0, with the root key version it names). */
export function openQuarantineBody(keys: OpeningKeys, record: SealedBody): string | null {
  if (record.body_sealed === null || record.body_key_id === null) return null;
  const sealed = Buffer.from(record.body_sealed, 'base64');
  const aad = associatedData(record.message_id);
  if (record.body_key_id === keys.operator.id) return openSealed(keys.operator, sealed, aad).toString('utf8');
  const legacy = keys.keyring.byId(record.body_key_id);
  if (!legacy) throw new Error(`the body is sealed with key ${record.body_key_id}, which neither key given opens`);
  return open(legacy, sealed, aad).toString('utf8');
}

/** The same record with its body sealed to the operator key (bodies sealed with a root key before 0.4.0). */
export function resealQuarantineBody<T extends SealedBody>(keys: OpeningKeys, record: T, sealer: VaultSealer): T {
  const content = openQuarantineBody(keys, record);
  if (content === null) return record;
  return {
    ...record,
    body_sealed: sealer.seal(Buffer.from(content, 'utf8'), associatedData(record.message_id)).toString('base64'),
    body_key_id: sealer.keyId,
  };
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Whether a quarantined body holds one of the values: in its `ip` or `device_id` field, by the canonical value (so
 * `::ffff:10.0.0.1` is 10.0.0.1), or anywhere in its text, spelled as given, at the edges of a token (a body is
 * quarantined because it is malformed, so it may not parse, and the value may sit in another field).
 */
export function bodyHoldsValue(body: string, values: readonly { field: PiiField; value: string }[]): boolean {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    parsed = undefined;
  }
  const fields = typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : {};
  return values.some(({ field, value }) => {
    if (canonicalValue(field, value) === '') return false;
    const raw = fields[field];
    if (typeof raw === 'string' && canonicalValue(field, raw) === canonicalValue(field, value)) return true;
    return [value, canonicalValue(field, value)].some((spelling) =>
      new RegExp(`(?<![\\w.:-])${escapeRegExp(spelling)}(?![\\w.:-])`).test(body),
    );
  });
}
