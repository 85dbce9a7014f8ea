import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeAppVersion, encodeAppVersion } from '../../src/core/app-version';
import { validateLoginMessage } from '../../src/core/validate-message';
import { readBodies, SAMPLE_DATA_FILE } from '../../src/seed-messages';

const encode = (text: string) => {
  const result = encodeAppVersion(text);
  assert.ok(result.ok, text);
  return result.value;
};

describe('encodeAppVersion', () => {
  it('encodes X.Y.Z, X.YY and X.Y as major * 1e6 + minor * 1e3 + patch', () => {
    assert.equal(encode('2.3.0'), 2_003_000);
    assert.equal(encode('0.96'), 96_000);
    assert.equal(encode('9.6'), 9_006_000);
    assert.equal(encode('0.2.6'), 2_006);
  });

  it('gives equal versions equal integers', () => {
    assert.equal(encode('2.0'), encode('2.00'));
    assert.equal(encode('2.0'), encode('2.0.0'));
  });

  it('keeps version order, where dropping the dots would collide', () => {
    const ordered = ['0.2.6', '0.9.5', '0.26', '0.96', '2.0', '2.6', '2.6.1', '2.10', '10.0'];
    const codes = ordered.map(encode);
    assert.deepEqual(
      [...codes].sort((a, b) => a - b),
      codes,
    );
    assert.equal(new Set(codes).size, codes.length);
  });

  it('encodes every sample version, in range of a Postgres integer, and decodes back', () => {
    for (const text of readBodies(SAMPLE_DATA_FILE)) {
      const result = validateLoginMessage(text);
      if (!result.ok) continue;
      assert.ok(result.appVersion >= 0 && result.appVersion <= 2_147_483_647);
      const [major, minor, patch = '0'] = result.event.app_version.split('.');
      assert.equal(decodeAppVersion(result.appVersion), `${Number(major)}.${Number(minor)}.${Number(patch)}`);
    }
  });

  it('rejects other shapes and majors past the integer range', () => {
    for (const text of ['2', '2.', '.5', 'v2.0', '1.2.3.4', '1.2.x', ' 1.2', '1.1000', '2147.0.0', '١.٢']) {
      assert.equal(encodeAppVersion(text).ok, false, text);
    }
    assert.equal(encode('2146.999.999'), 2_146_999_999);
  });
});
