import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { printable, printableJson } from '../../src/cli/terminal-text';

describe('text from messages, as the commands print it', () => {
  it('shows C0, C1, ESC, DEL and bidirectional controls as escapes', () => {
    assert.equal(printable('a\u001b[2Jb'), 'a\\u001b[2Jb');
    assert.equal(printable('\u009b31m'), '\\u009b31m');
    assert.equal(printable('x\u007fy\u0007\r\n\t'), 'x\\u007fy\\u0007\\u000d\\u000a\\u0009');
    assert.equal(printable('abc\u202edef'), 'abc\\u202edef');
    assert.equal(printable('plain text, ünïcode 😀'), 'plain text, ünïcode 😀');
  });

  it('keeps JSON valid and the same when read back', () => {
    const value = { verdict: 'a\u001b]0;title\u0007\u009b', fields: ['\u202e'] };
    const text = printableJson(value, 2);
    assert.ok(![...text].some((c) => c !== '\n' && (c < ' ' || (c >= '\u007f' && c <= '\u009f') || c === '\u202e')));
    assert.deepEqual(JSON.parse(text), value);
  });
});
