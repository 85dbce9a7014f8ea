import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createKeyring } from '../../src/core/keys';
import { tokenize } from '../../src/core/mask';
import { generateOperatorKeyPair, parseOperatorPrivateKey } from '../../src/core/operator-seal';
import { openQuarantineBody } from '../../src/core/quarantine-record';
import { transformBatch } from '../../src/core/transform-batch';
import type { ReceivedMessage } from '../../src/core/types';

const keyring = createKeyring(Buffer.alloc(32, 7));
const keys = keyring.keySet(1);
const operator = parseOperatorPrivateKey(generateOperatorKeyPair().privateKeyPem);
const transform = (messages: ReceivedMessage[]) => transformBatch(messages, keys, operator.publicKey, 'b1');

const message = (
  id: string,
  body: string | null,
  sentTimestamp = Date.UTC(2024, 0, 31, 23, 59, 59),
): ReceivedMessage => ({
  messageId: id,
  receiptHandle: `rh-${id}`,
  body,
  bodyBytes: body === null ? 0 : Buffer.byteLength(body),
  sentTimestamp,
  receiveCount: 1,
});

const event = {
  user_id: 'u-1',
  app_version: '0.96',
  device_type: 'ios',
  ip: '127.96.0.101',
  locale: null,
  device_id: '123-45-6789',
};

describe('transformBatch', () => {
  it('builds a row with masked ip and device_id, the encoded version and the UTC date it was sent', () => {
    const { rows, quarantined, vault, keyVersion } = transform([message('m1', JSON.stringify(event))]);
    assert.equal(quarantined.length, 0);
    assert.equal(keyVersion, 1);
    assert.deepEqual(
      vault.map((entry) => [entry.field, entry.token]),
      [
        ['ip', tokenize(keys, 'ip', '127.96.0.101')],
        ['device_id', tokenize(keys, 'device_id', '123-45-6789')],
      ],
    );
    assert.deepEqual(rows[0], {
      message_id: 'm1',
      user_id: 'u-1',
      device_type: 'ios',
      masked_ip: tokenize(keys, 'ip', '127.96.0.101'),
      masked_device_id: tokenize(keys, 'device_id', '123-45-6789'),
      ip_valid: true,
      locale: null,
      app_version: 96_000,
      app_version_text: '0.96',
      create_date: '2024-01-31',
      sent_at: '2024-01-31T23:59:59.000Z',
      sent_at_source: 'sqs',
    });
  });

  it('turns each bad message into a quarantine record, keeping its body only sealed', () => {
    const bad = '{"ip": "10.1.2.3", "device_id": "111-22-3333"}';
    const { rows, quarantined } = transform([message('m1', JSON.stringify(event)), message('m2', bad)]);
    assert.equal(rows.length, 1);
    assert.equal(quarantined.length, 1);
    const record = quarantined[0]!;
    assert.equal(record.message_id, 'm2');
    assert.match(record.reason, /user_id is missing/);
    assert.ok(!JSON.stringify(record).includes('10.1.2.3'));
    assert.ok(!JSON.stringify(record).includes('111-22-3333'));
    assert.equal(record.body_key_id, operator.id);
    assert.equal(openQuarantineBody({ operator, keyring }, record), bad);
  });

  it('keeps a value that is not an IP address, tokenized as a string and flagged', () => {
    const { rows } = transform([message('m4', JSON.stringify({ ...event, ip: ' unknown ' }))]);
    assert.equal(rows[0]!.masked_ip, tokenize(keys, 'ip', 'unknown'));
    assert.equal(rows[0]!.ip_valid, false);
  });

  it('quarantines a body that was too large to carry, with the reason given at receive', () => {
    const big = { ...message('m3', null), rejectedReason: 'body of 2000000 bytes is too large to keep' };
    const { quarantined } = transform([big]);
    assert.equal(quarantined[0]!.reason, 'body of 2000000 bytes is too large to keep');
    assert.equal(quarantined[0]!.body_sealed, null);
  });

  it('quarantines a message that fails in masking, with the kind of failure, and masks the rest of the batch', () => {
    const other = { ...event, user_id: 'u-2', ip: '192.0.2.77', device_id: '999-99-9999' };
    const { rows, quarantined, vault } = transform([
      message('m5', JSON.stringify(other), Number.NaN),
      message('m6', JSON.stringify(event)),
    ]);
    assert.deepEqual(
      rows.map((row) => row.message_id),
      ['m6'],
    );
    assert.equal(quarantined[0]!.message_id, 'm5');
    assert.equal(quarantined[0]!.reason, 'could not be masked (RangeError)');
    assert.equal(quarantined[0]!.sent_at, null);
    assert.equal(openQuarantineBody({ operator, keyring }, quarantined[0]!), JSON.stringify(other));
    assert.equal(vault.length, 2, 'no vault entry for the message that failed');
  });
});
