import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createKeyring } from '../../src/core/keys';
import { tokenize } from '../../src/core/mask';
import { openQuarantineBody } from '../../src/core/quarantine-record';
import { rekeyBatch } from '../../src/core/rekey-batch';
import { transformBatch } from '../../src/core/transform-batch';
import type { ReceivedMessage } from '../../src/core/types';
import { openVaultEntry, rekeyVaultEntry, sealVaultEntry } from '../../src/core/vault';

const keyring = createKeyring(Buffer.alloc(32, 9));
const v1 = keyring.keySet(1);
const v2 = keyring.keySet(2);

const message = (id: string, body: string): ReceivedMessage => ({
  messageId: id,
  receiptHandle: `rh-${id}`,
  body,
  bodyBytes: Buffer.byteLength(body),
  sentTimestamp: Date.UTC(2025, 5, 1),
  receiveCount: 1,
});
const body = (ip: string, deviceId: string) =>
  JSON.stringify({ user_id: 'u', app_version: '1.0', device_type: 'ios', ip, locale: null, device_id: deviceId });

describe('vault entries', () => {
  it('seal the canonical value, bound to field, token and key version', () => {
    const token = tokenize(v1, 'ip', '192.0.2.1');
    const entry = sealVaultEntry(v1, 'ip', token, '192.0.2.1');
    assert.ok(!Buffer.from(entry.value_sealed, 'base64').toString('latin1').includes('192.0.2.1'));
    assert.equal(openVaultEntry(keyring, entry), '192.0.2.1');
    const otherToken = tokenize(v1, 'ip', '192.0.2.2');
    assert.throws(() => openVaultEntry(keyring, { ...entry, token: otherToken }));
    assert.throws(() => openVaultEntry(keyring, { ...entry, field: 'device_id' }));
    assert.throws(() => openVaultEntry(keyring, { ...entry, key_version: 2 }));
    assert.throws(() => openVaultEntry(createKeyring(Buffer.alloc(32, 8)), entry));
  });

  it('re-key to the token a fresh masking under the new version gives', () => {
    const entry = sealVaultEntry(v1, 'device_id', tokenize(v1, 'device_id', '111-22-3333'), '111-22-3333');
    const rekeyed = rekeyVaultEntry(keyring, entry, v2);
    assert.equal(rekeyed.token, tokenize(v2, 'device_id', '111-22-3333'));
    assert.equal(rekeyed.key_version, 2);
    assert.equal(openVaultEntry(keyring, rekeyed), '111-22-3333');
  });
});

describe('rekeyBatch', () => {
  it('turns a batch masked with v1 into the batch masking with v2 would have made', () => {
    const messages = [
      message('a', body('::ffff:198.51.100.4', '100-00-0001')),
      message('b', body('198.51.100.4', '100-00-0002')),
      message('c', '{"not": "an event", "ip": "198.51.100.9"}'),
    ];
    const old = transformBatch(messages, v1, 'b1');
    assert.equal(old.vault.length, 3, 'one entry per distinct token: both spellings share one');
    const rekeyed = rekeyBatch(old, keyring, v2);
    const fresh = transformBatch(messages, v2, 'b1');
    assert.equal(rekeyed.keyVersion, 2);
    assert.deepEqual(rekeyed.rows, fresh.rows);
    assert.deepEqual(
      rekeyed.vault.map((entry) => [entry.field, entry.token, openVaultEntry(keyring, entry)]),
      fresh.vault.map((entry) => [entry.field, entry.token, openVaultEntry(keyring, entry)]),
    );
    assert.equal(rekeyed.quarantined[0]!.body_key_id, v2.quarantineBody.id);
    assert.equal(openQuarantineBody(keyring, rekeyed.quarantined[0]!), messages[2]!.body);
  });
});
