import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultPayloadConverter } from '@temporalio/common';
import { deriveKeys } from '../../src/core/keys';
import { EncryptionCodec, KEY_ID_METADATA } from '../../src/temporal/encryption-codec';

const keys = deriveKeys(Buffer.alloc(32, 3));
const other = deriveKeys(Buffer.alloc(32, 4));

describe('EncryptionCodec', () => {
  it('round-trips a payload and leaves no plaintext in what it encodes', async () => {
    const codec = new EncryptionCodec(keys.temporalCodec);
    const payload = defaultPayloadConverter.toPayload({ ip: '198.51.100.23', device_id: '555-44-3333' });
    const [encoded] = await codec.encode([payload]);
    const bytes = Buffer.from(encoded!.data!).toString('latin1');
    assert.ok(!bytes.includes('198.51.100.23') && !bytes.includes('555-44-3333'));
    assert.equal(Buffer.from(encoded!.metadata![KEY_ID_METADATA]!).toString(), keys.temporalCodec.id);
    const [decoded] = await codec.decode([encoded!]);
    assert.deepEqual(defaultPayloadConverter.fromPayload(decoded!), { ip: '198.51.100.23', device_id: '555-44-3333' });
  });

  it('decodes with a previous key after rotation, and refuses a key it does not hold', async () => {
    const [encoded] = await new EncryptionCodec(other.temporalCodec).encode([defaultPayloadConverter.toPayload(1)]);
    const rotated = new EncryptionCodec(keys.temporalCodec, [other.temporalCodec]);
    assert.equal(defaultPayloadConverter.fromPayload((await rotated.decode([encoded!]))[0]!), 1);
    await assert.rejects(new EncryptionCodec(keys.temporalCodec).decode([encoded!]), /does not hold/);
  });

  it('passes through payloads that were never encrypted', async () => {
    const plain = defaultPayloadConverter.toPayload('hello');
    assert.deepEqual(await new EncryptionCodec(keys.temporalCodec).decode([plain]), [plain]);
  });
});
