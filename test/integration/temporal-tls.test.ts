import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readBodies, SAMPLE_DATA_FILE } from '../../src/seed-messages';
import { runCommand, startCommand } from '../helpers/commands';
import { createTestPipeline, type TestPipeline } from '../helpers/pipeline';
import { makeCertificates, startMtlsProxy } from '../helpers/tls-proxy';

describe('a Temporal cluster behind mTLS', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'login-etl-tls-'));
  let pipeline: TestPipeline;
  let proxy: Awaited<ReturnType<typeof startMtlsProxy>>;
  let worker: ChildProcess | undefined;
  const certificates = makeCertificates(dir);

  before(async () => {
    pipeline = await createTestPipeline('tls');
    const [host, port] = pipeline.config.TEMPORAL_ADDRESS.split(':');
    proxy = await startMtlsProxy(certificates, { host: host!, port: Number(port) });
  });
  after(async () => {
    worker?.kill('SIGKILL');
    await proxy.close();
    await pipeline.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the worker and start-workflow drain through it with a client certificate; without one they are refused', async () => {
    const withoutCertificate = {
      ...pipeline.env,
      TEMPORAL_ADDRESS: `localhost:${proxy.port}`,
      TEMPORAL_TLS_SERVER_CA_CERT_PATH: certificates.caCert,
    };
    const env = {
      ...withoutCertificate,
      TEMPORAL_TLS_CLIENT_CERT_PATH: certificates.clientCert,
      TEMPORAL_TLS_CLIENT_KEY_PATH: certificates.clientKey,
    };
    await pipeline.send(readBodies(SAMPLE_DATA_FILE));
    worker = startCommand('src/worker.ts', env, ['ignore', 'inherit', 'inherit']);
    const drained = await runCommand('src/client.ts', ['--grace-seconds', '1'], env);
    assert.equal(drained.code, 0, drained.stderr);
    assert.match(drained.stdout, /99 loaded, 1 quarantined/);
    assert.deepEqual(await pipeline.counts(), { rows: 99, quarantined: 1 });
    assert.ok(proxy.connections().authorized >= 2, 'the worker and the client both came through the proxy');

    const refused = await runCommand('src/client.ts', ['--grace-seconds', '1'], withoutCertificate);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /cannot reach Temporal at localhost:\d+ over TLS: .*TEMPORAL_TLS_/);
    assert.ok(proxy.connections().refused >= 1);
  });
});
