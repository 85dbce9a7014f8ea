import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { after, describe, it } from 'node:test';
import { freePort, waitUntil } from '../../src/stack/readiness';
import { TcpProxy } from '../../tools/tcp-proxy';
import { startCommand } from '../helpers/commands';
import { createTestPipeline, type TestPipeline } from '../helpers/pipeline';

/** The answer of one probe, or 0 when nothing answered. */
const probe = async (url: string): Promise<{ status: number; body: string }> => {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(5_000) });
    return { status: response.status, body: await response.text() };
  } catch {
    return { status: 0, body: '' };
  }
};

describe('worker health endpoints', () => {
  let pipeline: TestPipeline | undefined;
  let worker: ChildProcess | undefined;
  let proxy: TcpProxy | undefined;

  after(async () => {
    if (worker && worker.exitCode === null) {
      await new Promise((resolve) => {
        worker!.once('exit', resolve);
        worker!.kill('SIGTERM');
      });
    }
    await proxy?.close();
    await pipeline?.close();
  });

  it('answers /healthz and /readyz beside /metrics; /readyz is 503 while Postgres is away, and ready once back', async () => {
    pipeline = await createTestPipeline('health');
    // The worker reaches Postgres through a proxy the test can take off the network.
    const database = new URL(pipeline.env.DATABASE_URL!);
    proxy = new TcpProxy(await freePort(), { host: database.hostname, port: Number(database.port) });
    await proxy.listen();
    const proxied = Object.assign(new URL(database), { hostname: '127.0.0.1', port: String(proxy.port) }).toString();
    const address = `127.0.0.1:${await freePort()}`;
    worker = startCommand(
      'src/worker.ts',
      { ...pipeline.env, DATABASE_URL: proxied, METRICS_ADDRESS: address },
      'inherit',
    );
    const url = (path: string) => `http://${address}${path}`;

    await waitUntil('the worker is live', async () => (await probe(url('/healthz'))).status === 200);
    await waitUntil('the worker is ready', async () => (await probe(url('/readyz'))).status === 200, {
      timeoutMs: 60_000,
    });
    const metrics = await probe(url('/metrics'));
    assert.equal(metrics.status, 200);
    assert.match(metrics.body, /temporal_/, 'the SDK metrics come through');
    assert.equal((await probe(url('/elsewhere'))).status, 404);

    proxy.cut();
    const cutAt = Date.now();
    let away = { status: 0, body: '' };
    await waitUntil(
      'not ready once Postgres is away',
      async () => (away = await probe(url('/readyz'))).status === 503,
      {
        timeoutMs: 30_000,
      },
    );
    assert.ok(Date.now() - cutAt < 30_000);
    assert.match(away.body, /^Postgres: /m, 'the reason names the dependency');
    assert.doesNotMatch(away.body, /SQS|Temporal/, 'and only the one that is away');
    assert.equal((await probe(url('/healthz'))).status, 200, 'alive all the same: a restart would not help');

    proxy.restore();
    await waitUntil('ready again once Postgres is back', async () => (await probe(url('/readyz'))).status === 200, {
      timeoutMs: 30_000,
    });
  });
});
