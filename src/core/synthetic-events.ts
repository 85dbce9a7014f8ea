/**
 * Realistic login event bodies for load tests and demos, from a seeded generator so a run can be repeated,
 * with a small share of malformed bodies of the kinds seen in the wild.
 */
export interface SyntheticOptions {
  seed: number;
  /** Share of malformed bodies, 0–1. */
  malformedShare: number;
}

const LOCALES = ['RU', 'PH', 'US', 'DE', 'IN', 'BR', 'FR', 'JP', null] as const;

/** mulberry32: small, fast and good enough for test data. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function* syntheticBodies(count: number, options: SyntheticOptions): Generator<string> {
  const random = seededRandom(options.seed);
  const int = (max: number) => Math.floor(random() * max);
  const pick = <T>(values: readonly T[]): T => values[int(values.length)]!;
  for (let index = 0; index < count; index++) {
    const event = {
      user_id: [8, 4, 4, 4, 12].map((n) => Array.from({ length: n }, () => int(16).toString(16)).join('')).join('-'),
      app_version: pick([`${int(10)}.${int(10)}.${int(10)}`, `${int(10)}.${int(100)}`, `${int(10)}.${int(10)}`]),
      device_type: pick(['android', 'ios']),
      ip: `${int(256)}.${int(256)}.${int(256)}.${int(256)}`,
      locale: pick(LOCALES),
      device_id: `${100 + int(900)}-${10 + int(90)}-${1000 + int(9000)}`,
    };
    yield random() < options.malformedShare ? malformed(event, int) : JSON.stringify(event);
  }
}

function malformed(event: Record<string, unknown>, int: (max: number) => number): string {
  switch (int(6)) {
    case 0:
      return JSON.stringify({ foo: 'oops_wrong_msg_type', bar: String(int(1000)) });
    case 1:
      return JSON.stringify(event).slice(0, -7);
    case 2:
      return JSON.stringify({ ...event, user_id: undefined });
    case 3:
      return JSON.stringify({ ...event, app_version: 'v2-beta' });
    case 4:
      return JSON.stringify({ ...event, device_type: 'x'.repeat(40) });
    default:
      return JSON.stringify({ ...event, locale: 42 });
  }
}
