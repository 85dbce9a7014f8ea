import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { seal } from '../../src/core/aead';
import { createKeyring } from '../../src/core/keys';
import { tokenize } from '../../src/core/mask';
import { generateOperatorKeyPair, parseOperatorPrivateKey } from '../../src/core/operator-seal';
import { openQuarantineBody, quarantine } from '../../src/core/quarantine-record';
import { transformBatch } from '../../src/core/transform-batch';
import type { ReceivedMessage } from '../../src/core/types';
import { openVaultEntry, rekeyVaultEntry, sealVaultEntry, vaultSealer, type OpeningKeys } from '../../src/core/vault';

const keyring = createKeyring(Buffer.alloc(32, 9));
const v1 = keyring.keySet(1);
const v2 = keyring.keySet(2);
const operator = parseOperatorPrivateKey(generateOperatorKeyPair().privateKeyPem);
const opening: OpeningKeys = { operator, keyring };
const sealer = () => vaultSealer(operator.publicKey);

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
  it('are sealed to the operator key, bound to field, token and key version', () => {
    const token = tokenize(v1, 'ip', '192.0.2.1');
    const entry = sealVaultEntry(sealer(), 1, 'ip', token, '192.0.2.1');
    assert.equal(entry.seal_key_id, operator.id);
    assert.ok(!Buffer.from(entry.value_sealed, 'base64').toString('latin1').includes('192.0.2.1'));
    assert.equal(openVaultEntry(opening, entry), '192.0.2.1');
    const otherToken = tokenize(v1, 'ip', '192.0.2.2');
    assert.throws(() => openVaultEntry(opening, { ...entry, token: otherToken }));
    assert.throws(() => openVaultEntry(opening, { ...entry, field: 'device_id' }));
    assert.throws(() => openVaultEntry(opening, { ...entry, key_version: 2 }));
  });

  it("open with the operator's private key only: a worker's keys (the root, every derived key) do not open them", () => {
    const messages = [message('a', body('198.51.100.4', '100-00-0001')), message('q', '{"ip": "198.51.100.9"}')];
    const batch = transformBatch(messages, v1, operator.publicKey, 'b1');
    const another = parseOperatorPrivateKey(generateOperatorKeyPair().privateKeyPem);
    for (const entry of batch.vault) {
      assert.throws(() => openVaultEntry({ operator: another, keyring }, entry), /sealed to operator key/);
      // Even named as another key's, the value does not open with a different private key.
      assert.throws(() => openVaultEntry({ operator: another, keyring }, { ...entry, seal_key_id: another.id }));
      // Nor as an entry of before 0.4.0, with the root's own vault key of its version.
      assert.throws(() => openVaultEntry(opening, { ...entry, seal_key_id: null }));
    }
    const record = batch.quarantined[0]!;
    assert.equal(openQuarantineBody(opening, record), messages[1]!.body);
    assert.throws(() => openQuarantineBody({ operator: another, keyring }, record));
  });

  it('made before 0.4.0 (sealed with the root vault key, no seal key id) still open, and re-key to the operator key', () => {
    const token = tokenize(v1, 'device_id', '111-22-3333');
    const aad = Buffer.from(`login-etl/vault\u0000device_id\u0000${token}\u0000v1`, 'utf8');
    const legacy = {
      field: 'device_id' as const,
      token,
      key_version: 1,
      value_sealed: seal(keyring.legacyVaultKey(1), Buffer.from('111-22-3333'), aad).toString('base64'),
      seal_key_id: null,
    };
    assert.equal(openVaultEntry(opening, legacy), '111-22-3333');
    const rekeyed = rekeyVaultEntry(opening, sealer(), legacy, v2);
    assert.equal(rekeyed.token, tokenize(v2, 'device_id', '111-22-3333'));
    assert.equal(rekeyed.key_version, 2);
    assert.equal(rekeyed.seal_key_id, operator.id);
    assert.equal(openVaultEntry(opening, rekeyed), '111-22-3333');
  });

  it('bind a quarantined body to its message id', () => {
    const record = quarantine(
      { messageId: 'm2', sentTimestamp: 0, bodyBytes: 5, receiveCount: 1 },
      'bad',
      'hello',
      sealer(),
    );
    assert.equal(openQuarantineBody(opening, record), 'hello');
    assert.throws(() => openQuarantineBody(opening, { ...record, message_id: 'another-message' }));
  });
});
