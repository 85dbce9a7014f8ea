import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { deriveKeys, type VersionedKey } from '../../src/core/keys';
import { createMasker } from '../../src/core/mask';

const keysA = deriveKeys(Buffer.alloc(32, 1));
const keysB = deriveKeys(Buffer.alloc(32, 2));

describe('masking', () => {
  it('gives equal values equal tokens, and different values different ones', () => {
    const masker = createMasker(keysA);
    assert.equal(masker.maskIp('10.0.0.1'), masker.maskIp('10.0.0.1'));
    assert.notEqual(masker.maskIp('10.0.0.1'), masker.maskIp('10.0.0.2'));
    assert.equal(masker.maskDeviceId('593-47-5928'), createMasker(keysA).maskDeviceId('593-47-5928'));
  });

  it('is keyed: another key, or the unkeyed hash, gives another token', () => {
    const ip = '199.172.111.135';
    const token = createMasker(keysA).maskIp(ip);
    assert.match(token, /^[0-9a-f]{64}$/);
    assert.notEqual(token, createMasker(keysB).maskIp(ip));
    assert.notEqual(token, createHash('sha256').update(ip).digest('hex'));
  });

  it('uses separate keys per field, so an ip token never equals a device_id token of the same text', () => {
    const masker = createMasker(keysA);
    assert.notEqual(masker.maskIp('same-text'), masker.maskDeviceId('same-text'));
  });

  it('derives distinct keys for each purpose and refuses a short root secret', () => {
    const ids = Object.values(keysA).map((key: VersionedKey) => key.key.toString('hex'));
    assert.equal(new Set(ids).size, ids.length);
    assert.throws(() => deriveKeys(Buffer.alloc(16)), /at least 32 bytes/);
  });
});
