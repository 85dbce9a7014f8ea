import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { canonicalDeviceId, canonicalIp } from '../../src/core/canonical-pii';
import { createKeyring } from '../../src/core/keys';
import { tokenize, tokenVersion } from '../../src/core/mask';

const keyringA = createKeyring(Buffer.alloc(32, 1));
const keysA = keyringA.keySet(1);
const keysB = createKeyring(Buffer.alloc(32, 2)).keySet(1);
const ipToken = (raw: string) => tokenize(keysA, 'ip', canonicalIp(raw).value);

describe('canonical tokens', () => {
  it('gives two spellings of one address one token', () => {
    assert.equal(ipToken('192.0.2.7'), ipToken(' 192.0.2.7 '));
    assert.equal(ipToken('192.0.2.7'), ipToken('::ffff:192.0.2.7'));
    assert.equal(ipToken('192.0.2.7'), ipToken('::FFFF:C000:0207'));
    assert.equal(ipToken('2001:db8::1'), ipToken('2001:0DB8:0000:0000:0000:0000:0000:0001'));
    assert.notEqual(ipToken('192.0.2.7'), ipToken('192.0.2.8'));
  });

  it('canonicalizes addresses and flags what is not one, tokenizing it as the trimmed string', () => {
    assert.deepEqual(canonicalIp('::ffff:10.1.2.3'), { value: '10.1.2.3', isIp: true });
    assert.deepEqual(canonicalIp('2001:DB8:0:0:1:0:0:1'), { value: '2001:db8::1:0:0:1', isIp: true });
    assert.deepEqual(canonicalIp(' not-an-ip '), { value: 'not-an-ip', isIp: false });
    // Shorthand IPv4 is read differently by different parsers: it is not taken as an address.
    assert.deepEqual(canonicalIp('127.1'), { value: '127.1', isIp: false });
    assert.deepEqual(canonicalIp('010.0.0.1'), { value: '010.0.0.1', isIp: false });
    assert.deepEqual(canonicalIp('1.2.3.4:80'), { value: '1.2.3.4:80', isIp: false });
    assert.equal(canonicalDeviceId(' 593-47-5928\t'), '593-47-5928');
  });

  it('is keyed: another key, or the unkeyed hash, gives another token', () => {
    const ip = '199.172.111.135';
    const token = tokenize(keysA, 'ip', ip);
    assert.match(token, /^v1:[0-9a-f]{64}$/);
    assert.equal(tokenVersion(token), 1);
    assert.notEqual(token, tokenize(keysB, 'ip', ip));
    assert.notEqual(token.slice(3), createHash('sha256').update(ip).digest('hex'));
  });

  it('uses separate keys per field and per version', () => {
    assert.notEqual(tokenize(keysA, 'ip', 'same-text').slice(3), tokenize(keysA, 'device_id', 'same-text').slice(3));
    assert.notEqual(
      tokenize(keysA, 'ip', '10.0.0.1').slice(3),
      tokenize(keyringA.keySet(2), 'ip', '10.0.0.1').slice(3),
    );
  });
});

describe('keyring', () => {
  it('derives a distinct key for each purpose and version, each with an id naming both', () => {
    const keys = [keyringA.keySet(1), keyringA.keySet(2)].flatMap((set) => [
      set.ipToken,
      set.deviceIdToken,
      keyringA.legacyVaultKey(set.version),
    ]);
    keys.push(keyringA.codec);
    assert.equal(new Set(keys.map((key) => key.key.toString('hex'))).size, keys.length);
    assert.match(keyringA.keySet(2).ipToken.id, /^ip-token\/v2\/[0-9a-f]{12}$/);
  });

  it('finds a key by its id only when this root derived it', () => {
    const id = keyringA.legacyVaultKey(3).id;
    assert.equal(keyringA.byId(id)?.key.toString('hex'), keyringA.legacyVaultKey(3).key.toString('hex'));
    assert.equal(createKeyring(Buffer.alloc(32, 2)).byId(id), undefined);
    assert.equal(keyringA.byId('nonsense'), undefined);
    assert.notEqual(keyringA.rootFingerprint, createKeyring(Buffer.alloc(32, 2)).rootFingerprint);
  });

  it('refuses a short root secret', () => {
    assert.throws(() => createKeyring(Buffer.alloc(16)), /at least 32 bytes/);
  });
});
