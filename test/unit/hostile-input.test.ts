import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { createKeyring } from '../../src/core/keys';
import { FIELD_LIMITS } from '../../src/core/login-event';
import { generateOperatorKeyPair } from '../../src/core/operator-seal';
import { transformBatch } from '../../src/core/transform-batch';
import type { ReceivedMessage } from '../../src/core/types';
import { validateLoginMessage } from '../../src/core/validate-message';
import { hostileBody } from '../helpers/hostile-bodies';

const keys = createKeyring(Buffer.alloc(32, 13)).keySet(1);
const sealTo = generateOperatorKeyPair().publicKey;
const codePoints = (value: string) => Array.from(value).length;
const wellFormed = (value: string) =>
  !/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(value);
const message = (body: string, index: number): ReceivedMessage => ({
  messageId: `m${index}`,
  receiptHandle: `r${index}`,
  body,
  bodyBytes: Buffer.byteLength(body),
  sentTimestamp: Date.UTC(2026, 0, 1),
  receiveCount: 1,
});

describe('hostile input (property tests)', () => {
  it('validation never throws; what it accepts fits the columns; a refusal has a reason', () => {
    fc.assert(
      fc.property(hostileBody, (body) => {
        const result = validateLoginMessage(body);
        if (!result.ok) {
          assert.ok(result.reason.length > 0);
          return;
        }
        for (const [field, limit] of Object.entries(FIELD_LIMITS)) {
          const value = result.event[field as keyof typeof FIELD_LIMITS];
          if (value === null) continue;
          assert.ok(codePoints(value) <= limit, `${field} fits`);
          assert.ok(!value.includes('\u0000') && value.trim() !== '', `${field} storable and not blank`);
          assert.ok(wellFormed(value), `${field} is valid Unicode`);
        }
        assert.ok(Number.isInteger(result.appVersion) && result.appVersion >= 0 && result.appVersion <= 2 ** 31 - 1);
      }),
      { numRuns: 5_000 },
    );
  });

  it('a reason never quotes the ip or device_id it was given', () => {
    const marked = fc.record({
      ip: fc.string({ minLength: 6, maxLength: 300 }).map((s) => `ip-${s}`),
      device_id: fc.string({ minLength: 6, maxLength: 300 }).map((s) => `dev-${s}`),
      broken: fc.constantFrom('user_id', 'app_version', 'device_type', 'locale'),
    });
    fc.assert(
      fc.property(marked, ({ ip, device_id, broken }) => {
        const event: Record<string, unknown> = {
          user_id: 'u',
          app_version: '1.0',
          device_type: 'ios',
          locale: 'US',
          ip,
          device_id,
        };
        event[broken] = 42;
        const result = validateLoginMessage(JSON.stringify(event));
        const reason = result.ok ? '' : result.reason;
        assert.ok(!reason.includes(ip) && !reason.includes(device_id), reason);
      }),
      { numRuns: 1_000 },
    );
  });

  it('turns every body of a batch into exactly one row or one quarantine record', () => {
    fc.assert(
      fc.property(fc.array(hostileBody, { minLength: 1, maxLength: 30 }), (bodies) => {
        const batch = transformBatch(bodies.map(message), keys, sealTo, 'b1');
        const ids = [...batch.rows.map((r) => r.message_id), ...batch.quarantined.map((q) => q.message_id)];
        assert.deepEqual(ids.sort(), bodies.map((_, i) => `m${i}`).sort());
        for (const record of batch.quarantined) assert.ok(record.reason.length > 0);
        const tokens = new Set(batch.rows.flatMap((r) => [`ip:${r.masked_ip}`, `device_id:${r.masked_device_id}`]));
        assert.equal(batch.vault.length, tokens.size, 'one vault entry per distinct token');
      }),
      { numRuns: 500 },
    );
  });

  it('refuses an unpaired surrogate, which Postgres would store as U+FFFD without a word', () => {
    const result = validateLoginMessage(
      JSON.stringify({ user_id: 'u\ud800', app_version: '1.0', device_type: 'ios', ip: '1.2.3.4', device_id: 'd' }),
    );
    assert.deepEqual(result, { ok: false, reason: 'user_id must be valid Unicode (it has an unpaired surrogate)' });
  });
});
