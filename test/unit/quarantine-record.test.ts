import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bodyHoldsValue } from '../../src/core/quarantine-record';

describe('bodyHoldsValue', () => {
  const ip = [{ field: 'ip' as const, value: '10.0.0.1' }];

  it('finds a value in its field by canonical form, or anywhere in the text at the edges of a token', () => {
    assert.ok(bodyHoldsValue('{"ip": "::ffff:10.0.0.1", "user_id": 5}', ip), 'the field, canonically');
    assert.ok(bodyHoldsValue('{"ip": "10.0.0.1", broken', ip), 'a body that does not parse');
    assert.ok(bodyHoldsValue('{"note": "seen at 10.0.0.1"}', ip), 'another field');
    assert.ok(bodyHoldsValue('{"device_id": " 555-44-3333 "}', [{ field: 'device_id', value: '555-44-3333' }]));
  });

  it('does not find a value inside a longer one, nor an empty one anywhere', () => {
    assert.ok(!bodyHoldsValue('{"ip": "110.0.0.10"}', ip));
    assert.ok(!bodyHoldsValue('{"ip": "10.0.0.12"}', ip));
    assert.ok(!bodyHoldsValue('{"ip": "10.0.0.1.5"}', ip));
    assert.ok(!bodyHoldsValue('{"device_id": "x"}', [{ field: 'device_id', value: '  ' }]));
    assert.ok(!bodyHoldsValue('{"ip": "10.0.0.(1"}', [{ field: 'ip', value: '0.(1' }]), 'regex characters are literal');
  });
});
