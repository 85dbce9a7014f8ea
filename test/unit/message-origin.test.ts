import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createKeyring } from '../../src/core/keys';
import { attestOrigin, originOf, REDRIVE_ATTRIBUTES, type ReceivedOrigin } from '../../src/core/message-origin';

const key = createKeyring(Buffer.alloc(32, 3)).redrive;
const otherRoot = createKeyring(Buffer.alloc(32, 4)).redrive;
const now = Date.UTC(2026, 11, 4, 12);
const body = '{"user_id":"u"}';
const own = { messageId: 'a1b2c3d4-0000-4000-8000-000000000001', sentTimestamp: String(now - 1000), body };
const original = { messageId: 'f0e1d2c3-0000-4000-8000-00000000000f', sentTimestamp: now - 3 * 24 * 3600 * 1000 };

const claim = (attributes: ReceivedOrigin['attributes'], overrides: Partial<ReceivedOrigin> = {}) =>
  originOf(key, { ...own, attributes, ...overrides }, now);
const signed = (origin = original, signingKey = key, signedBody = body) => ({
  [REDRIVE_ATTRIBUTES.messageId]: origin.messageId,
  [REDRIVE_ATTRIBUTES.sentTimestamp]: String(origin.sentTimestamp),
  [REDRIVE_ATTRIBUTES.signature]: attestOrigin(signingKey, origin, signedBody),
});
const ownOrigin = { messageId: own.messageId, sentTimestamp: now - 1000 };

describe('the origin of a received message', () => {
  it('is its own when it carries no redrive attributes', () => {
    assert.deepEqual(claim({}), { kind: 'own', origin: ownOrigin });
  });

  it('is the redrive’s when the redrive signed it, for this body, under this root', () => {
    assert.deepEqual(claim(signed()), { kind: 'vouched', origin: { ...original, sentAtSource: 'redrive' } });
    assert.equal(claim(signed(original, otherRoot)).kind, 'refused');
    assert.equal(claim(signed(original, key, '{"user_id":"v"}')).kind, 'refused', 'signed for another body');
  });

  it('ignores what a producer sets: unsigned, malformed or forged claims keep the message its own id and time', () => {
    const forged = (attributes: ReceivedOrigin['attributes']) => {
      const vouching = claim(attributes);
      assert.equal(vouching.kind, 'refused', JSON.stringify(attributes));
      assert.deepEqual(vouching.origin, ownOrigin);
    };
    const id = REDRIVE_ATTRIBUTES.messageId;
    const time = REDRIVE_ATTRIBUTES.sentTimestamp;
    const signature = REDRIVE_ATTRIBUTES.signature;
    // Another message's id, without a signature.
    forged({ [id]: original.messageId, [time]: String(original.sentTimestamp) });
    for (const badTime of ['abc', '1e20', '-5', '12.5', '', '99999999999999999999', String(now + 3600_000), '0']) {
      forged({ ...signed(), [time]: badTime });
    }
    for (const badId of ['', ' ', 'x'.repeat(129), 'id with spaces', 'ünïcode', 'a\u001bb']) {
      forged({ ...signed({ ...original, messageId: badId }), [id]: badId });
    }
    forged({ ...signed(), [signature]: 'not-a-signature' });
    forged({ [signature]: signed()[signature] });
  });

  it('makes its own id and time storable whatever the server sent', () => {
    const odd = (messageId: string | undefined, sentTimestamp: string | undefined) =>
      originOf(key, { messageId, sentTimestamp, body, attributes: {} }, now).origin;
    for (const sent of ['abc', '-1', undefined]) {
      assert.deepEqual(odd('ok-id', sent), { messageId: 'ok-id', sentTimestamp: now, sentAtSource: 'receipt' });
    }
    assert.equal(odd('ok-id', String(now - 5)).sentAtSource, undefined, "the server's own: the same on every delivery");
    assert.match(odd('x'.repeat(200), '1').messageId, /^sha256-[0-9a-f]{64}$/);
    assert.equal(odd('x'.repeat(200), '1').messageId, odd('x'.repeat(200), '1').messageId, 'stable');
    assert.match(odd(undefined, '1').messageId, /^sha256-/);
  });
});
