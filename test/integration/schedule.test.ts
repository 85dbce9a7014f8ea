import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { readBodies, SAMPLE_DATA_FILE } from '../../src/seed-messages';
import { waitUntil } from '../../src/stack/readiness';
import { runCommand } from '../helpers/commands';
import { usePipeline } from '../helpers/pipeline';

describe('scheduled drains', () => {
  const pipelineOf = usePipeline('schedule');

  it('a schedule made by the command starts a drain that empties the queue; it pauses, and it is deleted', async () => {
    const pipeline = pipelineOf();
    await pipeline.send(readBodies(SAMPLE_DATA_FILE));
    const id = `schedule-${randomBytes(3).toString('hex')}`;
    const schedule = (...args: string[]) => runCommand('src/cli/schedule.ts', [...args, '--id', id], pipeline.env);

    const created = await schedule('create', '--every', '1h');
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stdout, /every 3600 s/);
    assert.match(created.stdout, /overlap: SKIP/);
    assert.match(created.stdout, /run timeout: 3600 s/, 'a stuck run cannot block every later tick');

    const triggered = await schedule('trigger');
    assert.equal(triggered.code, 0, triggered.stderr);
    await waitUntil('the scheduled drain', async () => (await pipeline.counts()).rows === 99, { timeoutMs: 60_000 });
    assert.deepEqual(await pipeline.counts(), { rows: 99, quarantined: 1 });
    await waitUntil('the scheduled drain', async () => (await pipeline.queueDepth()).inFlight === 0, {
      timeoutMs: 30_000,
    });
    assert.deepEqual(await pipeline.queueDepth(), { visible: 0, inFlight: 0, delayed: 0 });

    const paused = await schedule('pause', '--note', 'maintenance');
    assert.match(paused.stdout, /state: paused \(maintenance\)/);
    const described = await schedule('describe');
    assert.match(described.stdout, /runs so far: 1/);
    const deleted = await schedule('delete');
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.notEqual((await schedule('describe')).code, 0, 'gone');
  });
});
