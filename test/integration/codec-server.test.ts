import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { defaultPayloadConverter } from '@temporalio/common';
import { createKeyring } from '../../src/core/keys';
import { createLogger } from '../../src/log';
import { freePort } from '../../src/stack/readiness';
import { startCodecServer, type RunningCodecServer } from '../../src/temporal/codec-server';
import { createPayloadCodec } from '../../src/temporal/data-converter';
import { KEY_ID_METADATA } from '../../src/temporal/encryption-codec';
import { TEST_ENV } from '../helpers/test-env';

const keyring = createKeyring(Buffer.alloc(32, 11));
const TOKEN = 'operator-token-0123456789';
const UI_ORIGIN = 'http://localhost:8233';

const toJson = (payload: { metadata?: Record<string, Uint8Array | null> | null; data?: Uint8Array | null }) => ({
  metadata: Object.fromEntries(
    Object.entries(payload.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v!).toString('base64')]),
  ),
  data: Buffer.from(payload.data!).toString('base64'),
});

describe('codec server', () => {
  let server: RunningCodecServer;
  before(async () => {
    server = await startCodecServer({
      codec: createPayloadCodec(keyring),
      allowedOrigins: [UI_ORIGIN],
      authToken: TOKEN,
      host: '127.0.0.1',
      port: await freePort(),
      log: createLogger('codec-test'),
    });
  });
  after(() => server.stop());

  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${server.url}${path}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${TOKEN}`, ...headers },
      body: JSON.stringify(body),
    });

  it('round-trips a payload through /encode and /decode, as the Web UI calls them', async () => {
    const original = toJson(defaultPayloadConverter.toPayload({ ip: '198.51.100.23', device_id: '555-44-3333' }));
    const encoded = await post('/encode', { payloads: [original] }, { 'X-Namespace': 'default', Origin: UI_ORIGIN });
    assert.equal(encoded.status, 200);
    assert.equal(encoded.headers.get('access-control-allow-origin'), UI_ORIGIN);
    const { payloads } = (await encoded.json()) as { payloads: { metadata: Record<string, string>; data: string }[] };
    assert.equal(Buffer.from(payloads[0]!.metadata[KEY_ID_METADATA]!, 'base64').toString(), keyring.codec.id);
    assert.ok(!Buffer.from(payloads[0]!.data, 'base64').toString('latin1').includes('198.51.100.23'));

    const decoded = await post('/default/decode', { payloads });
    assert.equal(decoded.status, 200);
    assert.deepEqual(await decoded.json(), { payloads: [original] });
  });

  it('rejects a missing or wrong bearer token, a foreign origin and a bad body', async () => {
    const body = { payloads: [] };
    assert.equal((await post('/decode', body, { Authorization: 'Bearer wrong-token-wrong-token' })).status, 401);
    assert.equal((await post('/decode', body, { Authorization: '' })).status, 401);
    assert.equal((await post('/decode', body, { Origin: 'https://evil.example' })).status, 403);
    assert.equal((await post('/decode', { payloads: [{ data: '%%%' }] })).status, 400);
    assert.equal((await post('/elsewhere', body)).status, 404);
    const notJson = await fetch(`${server.url}/decode`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${TOKEN}` },
      body: '{',
    });
    assert.equal(notJson.status, 400);
  });

  it('answers the browser preflight for the Web UI origin without a token', async () => {
    const response = await fetch(`${server.url}/decode`, {
      method: 'OPTIONS',
      headers: {
        Origin: UI_ORIGIN,
        'Access-Control-Request-Method': 'POST',
        'Access-Control-Request-Headers': 'x-namespace,content-type',
      },
    });
    assert.equal(response.status, 204);
    assert.equal(response.headers.get('access-control-allow-origin'), UI_ORIGIN);
    assert.match(response.headers.get('access-control-allow-headers') ?? '', /X-Namespace/);
  });

  it('is the codec endpoint of the local stack Web UI', async () => {
    const settings = (await (await fetch(`${process.env[TEST_ENV.temporalUi]}/api/v1/settings`)).json()) as {
      Codec?: { Endpoint?: string };
    };
    assert.equal(settings.Codec?.Endpoint, process.env[TEST_ENV.codecServer]);
  });
});
