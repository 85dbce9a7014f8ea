import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultPayloadConverter } from '@temporalio/common';
import { createKeyring } from '../../src/core/keys';
import { isRefusedPayload, REFUSED_PAYLOAD } from '../../src/core/refused-payload';
import { createPayloadCodec } from '../../src/temporal/data-converter';
import {
  COMPRESSION_METADATA,
  EncryptionCodec,
  KEY_ID_METADATA,
  WORKFLOW_ID_METADATA,
  workflowIdOf,
} from '../../src/temporal/encryption-codec';

const keyring = createKeyring(Buffer.alloc(32, 3));
const keys = { temporalCodec: keyring.codec };
const other = { temporalCodec: createKeyring(Buffer.alloc(32, 4)).codec };

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

  it('decodes with any key its root derives (the id says which), and refuses a key of another root', async () => {
    const older = keyring.byId(keyring.codec.id.replace('/v1/', '/v2/').replace(/[0-9a-f]{12}$/, ''));
    assert.equal(older, undefined, 'an id without the right fingerprint names no key');
    const [encoded] = await new EncryptionCodec(other.temporalCodec).encode([defaultPayloadConverter.toPayload(1)]);
    await assert.rejects(createPayloadCodec(keyring).decode([encoded!]), /does not hold/);
    const [own] = await createPayloadCodec(keyring).encode([defaultPayloadConverter.toPayload(2)]);
    assert.equal(defaultPayloadConverter.fromPayload((await createPayloadCodec(keyring).decode([own!]))[0]!), 2);
  });

  it('decodes with the codec keys of replaced roots it is given, and encodes with the current one only', async () => {
    const [before] = await createPayloadCodec(keyring).encode([defaultPayloadConverter.toPayload('before the move')]);
    const moved = createPayloadCodec({ codec: other.temporalCodec }, [keyring.codec]);
    assert.ok(moved.opens(keyring.codec.id) && moved.opens(other.temporalCodec.id));
    assert.equal(defaultPayloadConverter.fromPayload((await moved.decode([before!]))[0]!), 'before the move');
    const [after] = await moved.encode([defaultPayloadConverter.toPayload('after')]);
    assert.equal(Buffer.from(after!.metadata![KEY_ID_METADATA]!).toString(), other.temporalCodec.id);
    await assert.rejects(
      createPayloadCodec(keyring).decode([after!]),
      /does not hold/,
      'the old root opens nothing new',
    );
  });

  it('names the workflow a payload belongs to and binds the name to the ciphertext', async () => {
    const codec = createPayloadCodec(keyring);
    const context = { type: 'workflow', namespace: 'default', workflowId: 'drain-login-queue' } as const;
    const [named] = await codec.encode([defaultPayloadConverter.toPayload(3)], context);
    assert.equal(workflowIdOf(named!), 'drain-login-queue');
    assert.equal(defaultPayloadConverter.fromPayload((await codec.decode([named!]))[0]!), 3);
    const relabelled = {
      ...named!,
      metadata: { ...named!.metadata, [WORKFLOW_ID_METADATA]: Buffer.from('drain-another-queue') },
    };
    await assert.rejects(codec.decode([relabelled]), /unable to authenticate/);
    const unnamed = { ...named!.metadata };
    delete unnamed[WORKFLOW_ID_METADATA];
    await assert.rejects(codec.decode([{ ...named!, metadata: unnamed }]), /unable to authenticate/);
    const [without] = await codec.encode([defaultPayloadConverter.toPayload(4)]);
    assert.equal(workflowIdOf(without!), undefined, 'no context, no name');
    assert.equal(defaultPayloadConverter.fromPayload((await codec.decode([without!]))[0]!), 4);
  });

  it('deflates a large payload before encrypting it, and restores it whole', async () => {
    const rows = Array.from({ length: 500 }, (_, i) => ({
      message_id: `m-${i}`,
      user_id: `u-${i}`,
      device_type: 'ios',
    }));
    const payload = defaultPayloadConverter.toPayload(rows);
    const codec = createPayloadCodec(keyring);
    const [encoded] = await codec.encode([payload]);
    assert.equal(Buffer.from(encoded!.metadata![COMPRESSION_METADATA]!).toString(), 'deflate');
    assert.ok(encoded!.data!.length < payload.data!.length / 2, 'at least halved');
    assert.deepEqual(defaultPayloadConverter.fromPayload((await codec.decode([encoded!]))[0]!), rows);
    const [small] = await codec.encode([defaultPayloadConverter.toPayload('tiny')]);
    assert.equal(small!.metadata![COMPRESSION_METADATA], undefined, 'a small payload is not worth it');
  });

  it('decodes an unencrypted payload as a refusal, never as its content; a null passes', async () => {
    const codec = new EncryptionCodec(keys.temporalCodec);
    const forged = defaultPayloadConverter.toPayload({ loaded: 100, quarantined: 0 });
    const [refused] = await codec.decode([forged]);
    const value: unknown = defaultPayloadConverter.fromPayload(refused!);
    assert.ok(isRefusedPayload(value));
    assert.deepEqual(value, REFUSED_PAYLOAD);
    const none = defaultPayloadConverter.toPayload(undefined);
    assert.deepEqual(await codec.decode([none]), [none]);
  });
});
