import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { VersionedKey } from './keys';

/**
 * Which message a received SQS message is, and when it was sent: the message id is the row's idempotency key and
 * the send time its `create_date`. A message keeps its own unless the project's own redrive vouched for the ones it
 * had before it was dead-lettered: message attributes are set by whoever may send to the queue, so the redrive
 * signs what it carries over, and an unsigned, mis-signed or malformed claim is ignored.
 */
export interface MessageOrigin {
  messageId: string;
  /** Epoch milliseconds. */
  sentTimestamp: number;
  /** Where the send time came from, when it is not this delivery's SentTimestamp. */
  sentAtSource?: SentAtSource;
}

/**
 * `sqs`: this delivery's SentTimestamp, the same on every delivery; `receipt`: the server gave none, so the time
 * of receipt, which another delivery of the message will not share; `redrive`: the original's, vouched for by the
 * redrive (a message dead-lettered after its row was committed may have had another, if it had to be made up).
 */
export type SentAtSource = 'sqs' | 'receipt' | 'redrive';

/** The message attributes a redriven message carries. */
export const REDRIVE_ATTRIBUTES = {
  messageId: 'login-etl-original-message-id',
  sentTimestamp: 'login-etl-original-sent-timestamp',
  signature: 'login-etl-redrive-signature',
} as const;

/** What a received message says of itself: SQS's own fields and the producer-set attributes, all untrusted. */
export interface ReceivedOrigin {
  messageId?: string;
  sentTimestamp?: string;
  body: string;
  attributes: Partial<Record<(typeof REDRIVE_ATTRIBUTES)[keyof typeof REDRIVE_ATTRIBUTES], string>>;
}

/** SQS message ids: up to 128 characters (AWS's are UUIDs). */
const MESSAGE_ID = /^[A-Za-z0-9-]{1,128}$/;
/** Any printable ASCII, as long as the column; a server whose ids are not is given a stable digest instead. */
const STORABLE_ID = /^[\x21-\x7e]{1,128}$/;
const DAY_MS = 24 * 3600 * 1000;
/**
 * How old a vouched send time may be: 14 days in the dead-letter queue (SQS's longest retention, counted from the
 * first send) and 14 more in the queue it was moved back to. Also the farthest apart two deliveries of one message
 * can be, should a server give it no send time and each delivery take its time of receipt instead.
 */
export const MAX_ORIGINAL_AGE_DAYS = 28;
const MAX_ORIGINAL_AGE_MS = MAX_ORIGINAL_AGE_DAYS * DAY_MS;
/** Clocks of the sender and of SQS may differ a little. */
const CLOCK_SKEW_MS = 5 * 60_000;

const bodyDigest = (body: string) => createHash('sha256').update(body, 'utf8').digest('hex');

/** The redrive's signature over the origin it carries and the body it belongs to. */
export function attestOrigin(key: VersionedKey, origin: MessageOrigin, body: string): string {
  return createHmac('sha256', key.key)
    .update(`login-etl/redrive\u0000${origin.messageId}\u0000${origin.sentTimestamp}\u0000${bodyDigest(body)}`)
    .digest('base64url');
}

/** An integer number of milliseconds, from digits only (`1e20`, `-5`, `12.5` and `abc` are not). */
const millisecondsOf = (text: string | undefined): number | undefined =>
  text !== undefined && /^\d{1,16}$/.test(text) ? Number(text) : undefined;

/**
 * The message's own id and send time, made safe to store: an id that is not printable ASCII of at most 128
 * characters becomes a digest of itself (the same on every delivery), and a missing or impossible send time
 * becomes the time of receipt.
 */
function ownOrigin(received: Pick<ReceivedOrigin, 'messageId' | 'sentTimestamp'>, now: number): MessageOrigin {
  const id = received.messageId ?? '';
  const sent = millisecondsOf(received.sentTimestamp);
  return {
    messageId: STORABLE_ID.test(id) ? id : `sha256-${createHash('sha256').update(id, 'utf8').digest('hex')}`,
    ...(sent !== undefined && sent <= now + DAY_MS
      ? { sentTimestamp: sent }
      : { sentTimestamp: now, sentAtSource: 'receipt' as const }),
  };
}

export type Vouching =
  | { kind: 'own'; origin: MessageOrigin }
  | { kind: 'vouched'; origin: MessageOrigin }
  /** Redrive attributes were present but not signed by the redrive, or malformed: ignored. */
  | { kind: 'refused'; origin: MessageOrigin };

/** The origin to use for a received message: the redrive's, when its signature and shape hold, else its own. */
export function originOf(key: VersionedKey, received: ReceivedOrigin, now: number): Vouching {
  const own = ownOrigin(received, now);
  const { attributes } = received;
  if (Object.values(REDRIVE_ATTRIBUTES).every((name) => attributes[name] === undefined)) {
    return { kind: 'own', origin: own };
  }
  const messageId = attributes[REDRIVE_ATTRIBUTES.messageId];
  const sentTimestamp = millisecondsOf(attributes[REDRIVE_ATTRIBUTES.sentTimestamp]);
  const signature = attributes[REDRIVE_ATTRIBUTES.signature];
  if (
    messageId === undefined ||
    !MESSAGE_ID.test(messageId) ||
    sentTimestamp === undefined ||
    sentTimestamp < now - MAX_ORIGINAL_AGE_MS ||
    sentTimestamp > now + CLOCK_SKEW_MS ||
    signature === undefined
  ) {
    return { kind: 'refused', origin: own };
  }
  const claimed = { messageId, sentTimestamp };
  const expected = Buffer.from(attestOrigin(key, claimed, received.body));
  const given = Buffer.from(signature);
  const valid = given.length === expected.length && timingSafeEqual(given, expected);
  return valid
    ? { kind: 'vouched', origin: { ...claimed, sentAtSource: 'redrive' } }
    : { kind: 'refused', origin: own };
}
