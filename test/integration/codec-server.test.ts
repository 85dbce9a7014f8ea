import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { defaultPayloadConverter, METADATA_ENCODING_KEY, type Payload } from '@temporalio/common';
import { exportJWK, generateKeyPair, SignJWT, type KeyLike } from 'jose';
import { createKeyring } from '../../src/core/keys';
import { createLogger } from '../../src/log';
import { freePort, waitUntil } from '../../src/stack/readiness';
import { startCodecServer, type RunningCodecServer } from '../../src/temporal/codec-server';
import { createPayloadCodec } from '../../src/temporal/data-converter';
import { isEncrypted, KEY_ID_METADATA, workflowIdOf } from '../../src/temporal/encryption-codec';
import { readBodies, SAMPLE_DATA_FILE } from '../../src/seed-messages';
import { historyEvents, payloadsIn } from '../../tools/history';
import { usePipeline } from '../helpers/pipeline';
import { runCommand, startCommand } from '../helpers/commands';
import { TEST_ENV } from '../helpers/test-env';
import { makeCertificates } from '../helpers/tls-proxy';

const keyring = createKeyring(Buffer.alloc(32, 11));
/** A root `pii rotate-root` replaced: the codec server keeps its codec key to decode older histories. */
const replacedRoot = createKeyring(Buffer.alloc(32, 13));
const codec = createPayloadCodec(keyring, [replacedRoot.codec]);
const TOKEN = 'operator-token-0123456789';
const UI_ORIGIN = 'http://localhost:8233';
const ISSUER = 'https://idp.example';
const AUDIENCE = 'temporal-ui';
const DECODERS = 'temporal-decoders';

const toJson = (payload: Payload) => ({
  metadata: Object.fromEntries(
    Object.entries(payload.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
  ),
  data: Buffer.from(payload.data ?? new Uint8Array()).toString('base64'),
});

describe('codec server', () => {
  let server: RunningCodecServer;
  let jwks: Server;
  let signingKey: KeyLike;
  const logged: string[] = [];

  before(async () => {
    // A throwaway identity provider: one ES256 key, published as a JWKS.
    const pair = await generateKeyPair('ES256');
    signingKey = pair.privateKey;
    const publicJwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
    jwks = createServer((_, response) => {
      response.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ keys: [publicJwk] }));
    });
    await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
    server = await startCodecServer({
      codec,
      allowedOrigins: [UI_ORIGIN],
      auth: {
        staticToken: TOKEN,
        jwksUrl: `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/jwks.json`,
        issuer: ISSUER,
        audience: AUDIENCE,
        requiredClaim: { name: 'groups', value: DECODERS },
      },
      encodeEnabled: true,
      host: '127.0.0.1',
      port: await freePort(),
      log: createLogger('codec-test', (line) => logged.push(line)),
    });
  });
  after(async () => {
    await server.stop();
    jwks.close();
  });

  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${server.url}${path}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${TOKEN}`, ...headers },
      body: JSON.stringify(body),
    });
  const jwt = (
    claims: { sub?: string; aud?: string; expiresIn?: string; groups?: string[] },
    key: KeyLike = signingKey,
  ) => {
    const token = new SignJWT({ email: 'alice@example.com', groups: claims.groups ?? ['staff', DECODERS] })
      .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
      .setIssuer(ISSUER)
      .setAudience(claims.aud ?? AUDIENCE)
      .setIssuedAt();
    if (claims.expiresIn !== 'never') token.setExpirationTime(claims.expiresIn ?? '5m');
    if (claims.sub) token.setSubject(claims.sub);
    return token.sign(key);
  };
  const encrypted = async (value: unknown) =>
    toJson(
      (
        await codec.encode([defaultPayloadConverter.toPayload(value)], {
          type: 'workflow',
          namespace: 'default',
          workflowId: 'drain-login-queue',
        })
      )[0]!,
    );

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

  it("decodes for the Web UI's forwarded OIDC access token, and logs each decode with who asked and how much", async () => {
    const body = { payloads: [await encrypted({ batchId: 'b-1' }), await encrypted(7)] };
    const headers = { Authorization: `Bearer ${await jwt({ sub: 'alice' })}`, 'X-Namespace': 'default' };
    const decoded = await post('/decode', body, headers);
    assert.equal(decoded.status, 200);
    const line = logged.find((l) => l.includes('decoded') && l.includes('alice'));
    assert.ok(line, logged.join(''));
    assert.match(line, /identity=.*alice <alice@example.com>/);
    assert.match(line, /namespace=default/);
    assert.match(line, /workflowIds=drain-login-queue/);
    assert.match(line, /count=2/);
  });

  it('refuses a token that another key signed, that expired or never does, that is for another audience, names no one or lacks the group', async () => {
    const body = { payloads: [await encrypted(1)] };
    const { privateKey: stranger } = await generateKeyPair('ES256');
    const refused = [
      await jwt({ sub: 'mallory' }, stranger),
      await jwt({ sub: 'alice', expiresIn: '-1m' }),
      await jwt({ sub: 'alice', expiresIn: 'never' }),
      await jwt({ sub: 'alice', expiresIn: '3650d' }),
      await jwt({ sub: 'alice', aud: 'another-app' }),
      await jwt({ sub: 'bob', groups: ['staff'] }),
      await jwt({}),
      'not-a-jwt',
    ];
    for (const token of refused) {
      assert.equal((await post('/decode', body, { Authorization: `Bearer ${token}` })).status, 401, token);
    }
  });

  it('answers GET /healthz without a token, and nothing more', async () => {
    const response = await fetch(`${server.url}/healthz`);
    assert.equal(response.status, 200);
    assert.equal(await response.text(), 'ok\n');
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

  it('refuses a key id of another purpose or an unknown root before looking it up, and unencrypted payloads but null', async () => {
    const payload = await encrypted({ batchId: 'b-2' });
    const naming = (keyId: string) => ({
      ...payload,
      metadata: { ...payload.metadata, [KEY_ID_METADATA]: Buffer.from(keyId).toString('base64') },
    });
    const vaultKey = await post('/decode', { payloads: [naming(keyring.legacyVaultKey(1).id)] });
    assert.equal(vaultKey.status, 422);
    assert.match(await vaultKey.text(), /not a codec key/);
    const otherRoot = await post('/decode', { payloads: [naming(createKeyring(Buffer.alloc(32, 12)).codec.id)] });
    assert.equal(otherRoot.status, 422);
    const [beforeTheMove] = await createPayloadCodec(replacedRoot).encode([defaultPayloadConverter.toPayload(7)]);
    const replaced = await post('/decode', { payloads: [toJson(beforeTheMove!)] });
    assert.equal(replaced.status, 200, 'a replaced root codec key it was given still decodes');

    const plain = await post('/decode', { payloads: [toJson(defaultPayloadConverter.toPayload({ a: 1 }))] });
    assert.equal(plain.status, 422);
    assert.match(await plain.text(), /not encrypted \(encoding json\/plain\)/);
    const nothing = toJson(defaultPayloadConverter.toPayload(undefined));
    assert.equal(Buffer.from(nothing.metadata[METADATA_ENCODING_KEY]!, 'base64').toString(), 'binary/null');
    assert.equal((await post('/decode', { payloads: [nothing] })).status, 200);
  });

  it('stops a payload that inflates beyond the limit, and more payloads than allowed in one request', async () => {
    // 32 MiB of zeros deflate to about 150 kB: what a holder of the codec key could plant to exhaust memory.
    const bomb = toJson((await codec.encode([{ metadata: {}, data: Buffer.alloc(32 * 1024 * 1024) }]))[0]!);
    assert.ok(bomb.data.length < 1_000_000);
    const refused = await post('/decode', { payloads: [bomb] });
    assert.equal(refused.status, 422);
    assert.match(await refused.text(), /inflate beyond/);
    const many = Array.from({ length: 1001 }, () => toJson(defaultPayloadConverter.toPayload(undefined)));
    assert.equal((await post('/decode', { payloads: many })).status, 413);
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

  it('runs as npm run codec-server on the exported codec key alone, and never on the root', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'codec-key-'));
    const keyFile = path.join(dir, 'codec.key');
    const exported = await runCommand('src/cli/pii.ts', ['export-codec-key', '--out', keyFile], process.env);
    assert.equal(exported.code, 0, exported.stderr);
    assert.equal(statSync(keyFile).mode & 0o777, 0o600);

    const rootless = { ...process.env, PII_HMAC_KEY: undefined, LOGIN_ETL_DEV_KEYS: undefined, NODE_ENV: 'production' };
    const refused = await runCommand('src/cli/codec-server.ts', [], rootless);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /no codec key: set CODEC_KEY_FILE/);
    const onTheRoot = await runCommand('src/cli/codec-server.ts', [], { ...process.env, NODE_ENV: undefined });
    assert.match(onTheRoot.stderr, /no codec key: set CODEC_KEY_FILE/, 'not on the local stack either');

    const port = await freePort();
    const child = startCommand('src/cli/codec-server.ts', {
      ...rootless,
      CODEC_KEY_FILE: keyFile,
      CODEC_SERVER_PORT: `${port}`,
    });
    try {
      const workerCodec = createPayloadCodec(createKeyring(Buffer.from(process.env.PII_HMAC_KEY!, 'utf8')));
      const payload = toJson((await workerCodec.encode([defaultPayloadConverter.toPayload({ batchId: 'b-3' })]))[0]!);
      const decode = () =>
        fetch(`http://127.0.0.1:${port}/decode`, { method: 'POST', body: JSON.stringify({ payloads: [payload] }) });
      await waitUntil('codec server', async () => (await decode()).status === 200, { timeoutMs: 30_000 });
      const { payloads } = (await (await decode()).json()) as { payloads: Payload[] };
      assert.equal(payloads.length, 1);
    } finally {
      child.kill('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('serves https with its certificate; beyond loopback it wants a token and TLS, or a proxy said to terminate it', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'codec-tls-'));
    try {
      const certificates = makeCertificates(dir);
      const tlsServer = await startCodecServer({
        codec,
        allowedOrigins: [],
        auth: { staticToken: TOKEN },
        encodeEnabled: false,
        host: '127.0.0.1',
        port: await freePort(),
        tls: { cert: readFileSync(certificates.serverCert), key: readFileSync(certificates.serverKey) },
        log: createLogger('codec-test', () => undefined),
      });
      try {
        assert.match(tlsServer.url, /^https:/);
        const body = JSON.stringify({ payloads: [await encrypted({ batchId: 'b-tls' })] });
        const status = await new Promise<number>((resolve, reject) => {
          const request = httpsRequest(
            `${tlsServer.url}/decode`,
            { method: 'POST', ca: readFileSync(certificates.caCert), headers: { Authorization: `Bearer ${TOKEN}` } },
            (response) => {
              response.resume();
              resolve(response.statusCode ?? 0);
            },
          );
          request.on('error', reject);
          request.end(body);
        });
        assert.equal(status, 200);
      } finally {
        await tlsServer.stop();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const exposed = { ...process.env, CODEC_SERVER_HOST: '0.0.0.0', CODEC_AUTH_TOKEN: TOKEN };
    const inClear = await runCommand('src/cli/codec-server.ts', [], exposed);
    assert.notEqual(inClear.code, 0);
    assert.match(inClear.stderr, /tokens would cross the network in clear; set CODEC_TLS_CERT_FILE/);
    const named = await runCommand('src/cli/codec-server.ts', [], {
      ...process.env,
      CODEC_SERVER_HOST: '127.example.com',
      CODEC_AUTH_TOKEN: undefined,
    });
    assert.match(named.stderr, /127.example.com is reachable from other machines; set CODEC_AUTH_TOKEN/);
  });

  it('is the codec endpoint of the local stack Web UI, with /encode off', async () => {
    const endpoint = process.env[TEST_ENV.codecServer]!;
    const settings = (await (await fetch(`${process.env[TEST_ENV.temporalUi]}/api/v1/settings`)).json()) as {
      Codec?: { Endpoint?: string };
    };
    assert.equal(settings.Codec?.Endpoint, endpoint);
    const encode = await fetch(`${endpoint}/encode`, { method: 'POST', body: JSON.stringify({ payloads: [] }) });
    assert.equal(encode.status, 403);
  });
});

describe('the codec server on a real drain', () => {
  const pipelineOf = usePipeline('codec-history');

  it('logs the workflow each decoded payload belongs to, as the payload itself names it', async () => {
    const pipeline = pipelineOf();
    await pipeline.send(readBodies(SAMPLE_DATA_FILE).slice(0, 10));
    const { workflowId } = await pipeline.drain();
    const payloads: Payload[] = [];
    for await (const { events } of historyEvents(pipeline.client, workflowId)) payloads.push(...payloadsIn(events));
    // Search attributes are plain JSON the server must read, and the Web UI does not send them to the codec.
    const encrypted = payloads.filter(isEncrypted);
    assert.ok(encrypted.length > 10);
    assert.deepEqual(
      new Set(encrypted.map(workflowIdOf)),
      new Set([workflowId]),
      'every encrypted payload of the drain names it: inputs, results, markers',
    );
    const logStart = statSync(process.env[TEST_ENV.stackLog]!).size;
    const decoded = await fetch(`${process.env[TEST_ENV.codecServer]}/decode`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Namespace': 'default' },
      body: JSON.stringify({ payloads: encrypted.map(toJson) }),
    });
    assert.equal(decoded.status, 200, await decoded.clone().text());
    const log = readFileSync(process.env[TEST_ENV.stackLog]!, 'utf8').slice(logStart);
    assert.match(log, new RegExp(`decoded .*workflowIds=${workflowId} count=${encrypted.length}`));
  });
});
