import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Readiness } from '../../src/metrics/health-endpoints';

describe('Readiness', () => {
  it('asks each dependency at most once every five seconds, however often it is probed', async () => {
    let now = 0;
    let calls = 0;
    const readiness = new Readiness(
      [{ name: 'Postgres', check: () => Promise.resolve(++calls) }],
      () => true,
      () => now,
    );
    await Promise.all(Array.from({ length: 20 }, () => readiness.report()));
    assert.equal(calls, 1);
    now += 4_999;
    await readiness.report();
    assert.equal(calls, 1);
    now += 1;
    await readiness.report();
    assert.equal(calls, 2);
  });

  it('is not ready while the worker is not running, without asking anyone; names each dependency that fails', async () => {
    let running = false;
    let asked = 0;
    const readiness = new Readiness(
      [
        { name: 'SQS', check: () => Promise.resolve(++asked) },
        { name: 'Postgres', check: () => Promise.reject(new Error('connect ECONNREFUSED\n127.0.0.1:5432')) },
      ],
      () => running,
    );
    assert.deepEqual(await readiness.report(), { ready: false, reasons: ['the worker is starting or shutting down'] });
    assert.equal(asked, 0);
    running = true;
    assert.deepEqual(await readiness.report(), {
      ready: false,
      reasons: ['Postgres: Error: connect ECONNREFUSED 127.0.0.1:5432'],
    });
  });

  it('counts a dependency that does not answer within two seconds as away', async () => {
    const readiness = new Readiness([{ name: 'Temporal', check: () => new Promise(() => undefined) }], () => true);
    const started = Date.now();
    const report = await readiness.report();
    assert.deepEqual(report, { ready: false, reasons: ['Temporal: no answer within 2 s'] });
    assert.ok(Date.now() - started < 3_000);
  });
});
