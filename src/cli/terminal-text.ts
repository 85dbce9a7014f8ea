/**
 * Characters that steer a terminal rather than print: C0 controls (ESC among them) and DEL, C1 controls (U+009B
 * alone starts a control sequence on many terminals), line and paragraph separators, and the bidirectional
 * controls that reorder what is shown.
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const STEERING = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

const escape = (character: string) => `\\u${character.charCodeAt(0).toString(16).padStart(4, '0')}`;

/**
 * Untrusted text (message content, names a producer chose) made safe to print: each steering character is shown
 * as its `\u` escape, so a message cannot move the cursor, recolour, retitle or rewrite what an operator reads.
 */
export const printable = (text: string): string => text.replace(STEERING, escape);

/**
 * JSON made safe to print the same way. JSON.stringify escapes C0 controls inside strings already, so a raw one
 * left is layout (the newlines of indented output) and stays; C1 and the others are escaped, which JSON reads back
 * as the same characters.
 */
export const printableJson = (value: unknown, indent?: number): string =>
  JSON.stringify(value, null, indent).replace(STEERING, (character) =>
    character === '\n' ? character : escape(character),
  );
