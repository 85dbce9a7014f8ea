/**
 * What a worker or client decodes a payload that came unencrypted into (an activity completed by hand with
 * `temporal activity complete`, a drain started without the codec): a fixed marker, never the payload's content, so
 * nothing forged reaches the workflow or the activities. Code that receives it treats the value as missing: the
 * workflow asks Postgres what a load committed, and an input it cannot trust fails the drain. Pure, so the workflow
 * bundle can import it.
 */
export const REFUSED_PAYLOAD = { refusedUnencryptedPayload: true } as const;

export const isRefusedPayload = (value: unknown): boolean =>
  typeof value === 'object' && value !== null && 'refusedUnencryptedPayload' in value;
