import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { validateLoginMessage } from '../../src/core/validate-message';
import { readBodies, SAMPLE_DATA_FILE } from '../../src/seed-messages';

const valid = {
  user_id: '424cdd21-063a-43a7-b91b-7ca1a833afae',
  app_version: '2.3.0',
  device_type: 'android',
  ip: '199.172.111.135',
  locale: 'RU',
  device_id: '593-47-5928',
};
const body = (overrides: Record<string, unknown>) => JSON.stringify({ ...valid, ...overrides });
const reasonOf = (text: string) => {
  const result = validateLoginMessage(text);
  assert.equal(result.ok, false);
  return result.ok ? '' : result.reason;
};

describe('validateLoginMessage', () => {
  it('accepts the 99 sample events and quarantines the one malformed sample message', () => {
    const results = readBodies(SAMPLE_DATA_FILE).map(validateLoginMessage);
    assert.equal(results.length, 100);
    assert.equal(results.filter((r) => r.ok).length, 99);
    const bad = results.findIndex((r) => !r.ok);
    assert.equal(bad, 12, 'line 13 is the malformed one');
  });

  it('keeps a valid event and encodes its app_version', () => {
    const result = validateLoginMessage(body({}));
    assert.ok(result.ok);
    assert.deepEqual(result.event, valid);
    assert.equal(result.appVersion, 2_003_000);
  });

  it('takes a null or missing locale as null and ignores unknown keys', () => {
    const withNull = validateLoginMessage(body({ locale: null, extra: { nested: true } }));
    assert.ok(withNull.ok);
    assert.equal(withNull.event.locale, null);
    assert.equal('extra' in withNull.event, false);
    const missing = validateLoginMessage(JSON.stringify({ ...valid, locale: undefined }));
    assert.ok(missing.ok);
    assert.equal(missing.event.locale, null);
  });

  it('gives a readable reason for each kind of bad body', () => {
    assert.equal(reasonOf('not json at all'), 'body is not valid JSON');
    assert.equal(reasonOf(''), 'body is not valid JSON');
    assert.equal(reasonOf('[1,2]'), 'body is JSON an array, not an object');
    assert.equal(reasonOf('"text"'), 'body is JSON a string, not an object');
    assert.equal(reasonOf('null'), 'body is JSON null, not an object');
    assert.equal(reasonOf(body({ user_id: undefined })), 'user_id is missing');
    assert.equal(reasonOf(body({ user_id: 42 })), 'user_id must be a string, not a number');
    assert.equal(reasonOf(body({ locale: ['RU'] })), 'locale must be a string, not an array');
    assert.equal(reasonOf(body({ device_type: 'x'.repeat(33) })), 'device_type must be at most 32 characters');
    assert.equal(reasonOf(body({ user_id: '' })), 'user_id must not be empty');
    assert.equal(reasonOf(body({ user_id: 'a\u0000b' })), 'user_id must not contain a NUL character');
    assert.equal(reasonOf(body({ app_version: '2.x' })), 'app_version must look like X.Y or X.Y.Z with digits only');
    assert.match(
      reasonOf('{"foo": "oops_wrong_msg_type", "bar": "123"}'),
      /^user_id is missing; app_version is missing; device_type is missing \(and 2 more\)$/,
    );
  });

  it('counts characters as Postgres does (code points), not UTF-16 units', () => {
    assert.ok(validateLoginMessage(body({ user_id: '😀'.repeat(128) })).ok);
    assert.equal(reasonOf(body({ user_id: '😀'.repeat(129) })), 'user_id must be at most 128 characters');
  });

  it('never quotes a raw ip or device_id in a reason', () => {
    const secretIp = '203.0.113.77';
    const secretDevice = '999-88-7777';
    for (const text of [
      `{"ip": "${secretIp}", "device_id": "${secretDevice}"`,
      body({ ip: secretIp, device_id: secretDevice, user_id: 7 }),
      body({ ip: secretIp.repeat(30), device_id: secretDevice }),
      body({ ip: { secretIp }, device_id: [secretDevice] }),
    ]) {
      const reason = reasonOf(text);
      assert.ok(!reason.includes(secretIp) && !reason.includes(secretDevice), reason);
    }
  });
});
