import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chunks, chunksWithin, SEND_BATCH_BODY_BYTES } from '../../src/sqs';

describe('chunks for SQS batch calls', () => {
  it('are at most ten items', () => {
    assert.deepEqual(
      [...chunks(Array.from({ length: 23 }, (_, i) => i))].map((chunk) => chunk.length),
      [10, 10, 3],
    );
  });

  it('keep the bodies of one SendMessageBatch within what SQS takes, however large bodies are interleaved', () => {
    const bodies = ['a', 'x'.repeat(250_000), 'x'.repeat(250_000), 'b', 'x'.repeat(250_000), 'x'.repeat(250_000)];
    bodies.push('x'.repeat(250_000), 'c', 'x'.repeat(2_000_000), 'd');
    const sized = [...chunksWithin(bodies, (body) => body.length)];
    for (const chunk of sized) {
      const bytes = chunk.reduce((sum, body) => sum + body.length, 0);
      assert.ok(chunk.length === 1 || bytes <= SEND_BATCH_BODY_BYTES, `${chunk.length} bodies, ${bytes} bytes`);
    }
    assert.deepEqual(sized.flat(), bodies, 'in order, none lost');
    assert.deepEqual(
      sized.map((chunk) => chunk.length),
      [5, 3, 1, 1],
    );
  });
});
