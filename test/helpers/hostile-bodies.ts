import fc from 'fast-check';
import { FIELD_LIMITS } from '../../src/core/login-event';

/** A field value of every kind a producer might send: wrong type, too long, odd characters, or right. */
const oddValue = (limit: number) =>
  fc.oneof(
    { weight: 3, arbitrary: fc.string({ minLength: 1, maxLength: 40 }) },
    { weight: 2, arbitrary: fc.string({ minLength: 1, maxLength: 20, unit: 'binary' }) },
    { weight: 1, arbitrary: fc.string({ minLength: limit + 1, maxLength: limit + 40 }) },
    {
      weight: 1,
      arbitrary: fc.constantFrom('', ' ', '\u0000', '\t', '\ud800', 'x\udc00y', '\u202e', '😀'.repeat(limit)),
    },
    {
      weight: 2,
      arbitrary: fc.oneof(fc.integer(), fc.boolean(), fc.constant(null), fc.array(fc.string()), fc.object()),
    },
  );
/** Mostly a good value, sometimes an odd one: most events are valid, each field is broken now and then. */
const field = <T>(good: fc.Arbitrary<T>, limit: number) =>
  fc.oneof({ weight: 9, arbitrary: good }, { weight: 1, arbitrary: oddValue(limit) });

const KEYS = ['user_id', 'app_version', 'device_type', 'ip', 'locale', 'device_id'] as const;

/** A JSON object with the event's keys (each maybe wrong, a few maybe missing) and maybe unknown ones. */
const eventLike = fc
  .tuple(
    fc.record({
      user_id: field(fc.uuid(), FIELD_LIMITS.user_id),
      app_version: field(
        fc.oneof(
          fc.tuple(fc.nat(3000), fc.nat(1200), fc.nat(1200)).map(([a, b, c]) => `${a}.${b}.${c}`),
          fc.tuple(fc.nat(20), fc.nat(120)).map(([a, b]) => `${a}.${b}`),
        ),
        FIELD_LIMITS.app_version,
      ),
      device_type: field(fc.constantFrom('ios', 'android'), FIELD_LIMITS.device_type),
      ip: field(
        fc.oneof(
          fc.ipV4(),
          fc.ipV6(),
          fc.ipV4().map((ip) => ` ::ffff:${ip} `),
        ),
        FIELD_LIMITS.ip,
      ),
      locale: field(fc.constantFrom('US', 'RU', null), FIELD_LIMITS.locale),
      device_id: field(fc.stringMatching(/^\d{3}-\d{2}-\d{4}$/), FIELD_LIMITS.device_id),
    }),
    fc.option(fc.subarray([...KEYS], { minLength: 1, maxLength: 2 }), { freq: 8 }),
    fc.dictionary(fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }),
  )
  .map(([event, missing, extra]) => {
    const object: Record<string, unknown> = { ...extra, ...event };
    for (const key of missing ?? []) delete object[key];
    return object;
  });

/** The same key twice: JSON.parse keeps the last one, as most parsers do. */
const duplicateKeys = eventLike.map((event) => {
  const text = JSON.stringify(event);
  return text.length > 2 ? `{"ip":"198.51.100.1","device_id":"000-00-0000",${text.slice(1)}` : text;
});

/**
 * Message bodies a hostile or broken producer could send: not JSON, JSON of every other type, objects with wrong,
 * missing, overlong, oddly encoded (escaped control characters, unpaired surrogates) or extra fields, duplicate keys.
 */
export const hostileBody = fc.oneof(
  { weight: 2, arbitrary: fc.string({ maxLength: 200 }) },
  { weight: 1, arbitrary: fc.string({ maxLength: 60, unit: 'binary' }) },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((value) => JSON.stringify(value) ?? 'null') },
  { weight: 8, arbitrary: eventLike.map((event) => JSON.stringify(event)) },
  { weight: 2, arbitrary: duplicateKeys },
  { weight: 1, arbitrary: eventLike.map((event) => JSON.stringify(event).slice(0, -3)) },
);

/**
 * Characters an SQS body may hold (#x9, #xA, #xD, #x20–#xD7FF, #xE000–#xFFFD; others never arrive). fauxqs also
 * refuses astral characters, which AWS accepts, so they are left out here too.
 */
export const sqsAccepts = (body: string): boolean =>
  body.length > 0 && !/[^\t\n\r\u0020-\ud7ff\ue000-\ufffd]/.test(body);
