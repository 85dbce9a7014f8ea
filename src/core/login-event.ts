import { z } from 'zod';

/** Longest value each text field may hold: the reference columns' limits, and a sane bound for masked inputs. */
export const FIELD_LIMITS = {
  user_id: 128,
  device_type: 32,
  locale: 32,
  app_version: 32,
  ip: 256,
  device_id: 256,
} as const;

/** Code points, as Postgres counts characters; a string's length counts UTF-16 units. */
const codePointLength = (value: string): number => Array.from(value).length;

const UNPAIRED_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Postgres varchar(n) counts characters (code points) and cannot store NUL; check both before the database does. */
const text = (max: number) =>
  z
    .string()
    .refine((value) => value.trim() !== '', 'must not be empty')
    .refine((value) => codePointLength(value) <= max, `must be at most ${max} characters`)
    .refine((value) => !value.includes('\u0000'), 'must not contain a NUL character')
    // JSON escapes can carry half a surrogate pair; encoded as UTF-8 it would silently become U+FFFD.
    .refine((value) => !UNPAIRED_SURROGATE.test(value), 'must be valid Unicode (it has an unpaired surrogate)');

/** One login event as it arrives in an SQS message body; unknown keys are ignored. */
export const loginEventSchema = z.object({
  user_id: text(FIELD_LIMITS.user_id),
  app_version: text(FIELD_LIMITS.app_version),
  device_type: text(FIELD_LIMITS.device_type),
  ip: text(FIELD_LIMITS.ip),
  // The sample data sends JSON null for a third of the events; a missing locale means the same.
  locale: text(FIELD_LIMITS.locale)
    .nullish()
    .transform((value) => value ?? null),
  device_id: text(FIELD_LIMITS.device_id),
});

export type LoginEvent = z.infer<typeof loginEventSchema>;
