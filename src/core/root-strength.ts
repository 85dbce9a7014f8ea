/**
 * A rough lower bound on the guessing work behind a passphrase root, in bits, so that a root typed by hand
 * ("secret-secret-secret-…", "k" forty times, "…0123456789") is refused while `openssl rand -hex 32` (about 270
 * bits by this count) passes. Each character costs what its character classes allow (digits 10, lower 26, upper
 * 26, others 33), except where it continues something already seen: a repeat of an earlier run of 3 or more costs
 * 8 bits in all, a run of consecutive characters (abc, 321) 1 bit a character. Not a proof of strength, a guard
 * against the obvious: a real root comes from a random generator or a KMS.
 */
export const MIN_ROOT_STRENGTH_BITS = 128;

const CLASSES: [RegExp, number][] = [
  [/[0-9]/, 10],
  [/[a-z]/, 26],
  [/[A-Z]/, 26],
  [/[^0-9a-zA-Z]/, 33],
];

const REPEAT_BITS = 8;
const MIN_REPEAT = 3;

export function rootStrengthBits(secret: string): number {
  const chars = [...secret];
  const alphabet = CLASSES.filter(([pattern]) => chars.some((c) => pattern.test(c))).reduce(
    (n, [, size]) => n + size,
    0,
  );
  const literalBits = Math.log2(Math.max(alphabet, 2));
  let bits = 0;
  let i = 0;
  while (i < chars.length) {
    const repeat = longestEarlierMatch(chars, i);
    if (repeat >= MIN_REPEAT) {
      bits += REPEAT_BITS;
      i += repeat;
      continue;
    }
    const step = i > 0 ? chars[i]!.codePointAt(0)! - chars[i - 1]!.codePointAt(0)! : 0;
    bits += Math.abs(step) === 1 ? 1 : literalBits;
    i++;
  }
  return Math.floor(bits);
}

/** The longest run starting at `at` that also starts earlier (overlapping allowed, as in "kkkk"). */
function longestEarlierMatch(chars: string[], at: number): number {
  let best = 0;
  for (let from = 0; from < at; from++) {
    let length = 0;
    while (at + length < chars.length && chars[from + length] === chars[at + length]) length++;
    best = Math.max(best, length);
  }
  return best;
}
