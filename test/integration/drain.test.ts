import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createHeldActivities, createSharedActivities } from '../../src/activities';
import type { ReceiveHeldBatchInput } from '../../src/activities/receive-batch';
import { encodeAppVersion } from '../../src/core/app-version';
import { tokenize } from '../../src/core/mask';
import { validateLoginMessage } from '../../src/core/validate-message';
import { readBodies, SAMPLE_DATA_FILE } from '../../src/seed-messages';
import { waitUntil } from '../../src/stack/readiness';
import { DRAIN_SEARCH_ATTRIBUTES } from '../../src/workflows/search-attributes';
import { runActivity as run } from '../helpers/activities';
import { usePipeline, type TestPipeline } from '../helpers/pipeline';

const sample = readBodies(SAMPLE_DATA_FILE);

/** The activities of a worker, run outside Temporal as one process's steps. */
const activitiesOf = (pipeline: TestPipeline) => ({
  ...createSharedActivities(pipeline.deps),
  ...createHeldActivities(pipeline.deps),
});

const receiveInput = (input: Partial<ReceiveHeldBatchInput> = {}): ReceiveHeldBatchInput => ({
  maxMessages: 100,
  maxBytes: 1024 * 1024,
  waitTimeSeconds: 1,
  leaseSeconds: 30,
  holdSeconds: 300,
  ...input,
});

describe('drain of the sample data', () => {
  const pipelineOf = usePipeline('sample');

  it('loads 99 rows and quarantines 1 and empties the queue', async () => {
    const pipeline = pipelineOf();
    await pipeline.send(sample);
    const summary = await pipeline.drain();
    assert.deepEqual(
      [summary.received, summary.loaded, summary.quarantined, summary.duplicates, summary.deleted],
      [100, 99, 1, 0, 100],
    );
    assert.deepEqual(await pipeline.counts(), { rows: 99, quarantined: 1 });
    assert.deepEqual(await pipeline.queueDepth(), { visible: 0, inFlight: 0, delayed: 0 });

    const { rows } = await pipeline.deps.pool.query<Record<string, unknown>>(
      `SELECT user_id, masked_ip, masked_device_id, locale, app_version, app_version_text,
              to_char(create_date, 'YYYY-MM-DD') AS create_date,
              to_char(sent_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS sent_date, now() - sent_at < interval '10 minutes' AS recent
         FROM user_logins`,
    );
    const keys = pipeline.keyring.keySet(1);
    const byUser = new Map(rows.map((row) => [row.user_id, row]));
    for (const body of sample) {
      const result = validateLoginMessage(body);
      if (!result.ok) continue;
      const row = byUser.get(result.event.user_id)!;
      assert.equal(row.masked_ip, tokenize(keys, 'ip', result.event.ip));
      assert.equal(row.masked_device_id, tokenize(keys, 'device_id', result.event.device_id));
      assert.equal(row.locale, result.event.locale);
      assert.equal(row.app_version, (encodeAppVersion(result.event.app_version) as { value: number }).value);
      assert.equal(row.app_version_text, result.event.app_version);
      assert.equal(row.create_date, row.sent_date, 'create_date is the UTC date of SentTimestamp');
      assert.equal(row.recent, true);
    }

    const { rows: quarantined } = await pipeline.deps.pool.query<{ reason: string; body_sealed: Buffer }>(
      'SELECT reason, body_sealed FROM quarantined_messages',
    );
    assert.match(quarantined[0]!.reason, /user_id is missing/);
    assert.ok(quarantined[0]!.body_sealed.length > 0, 'the quarantined body is kept, sealed');
  });
});

describe('redelivery', () => {
  const pipelineOf = usePipeline('redelivery');

  /** The messages in the queue, received as one held batch, masked and loaded, as a worker outside the drain would. */
  async function receiveAndLoad(pipeline: TestPipeline, leaseSeconds: number) {
    const activities = activitiesOf(pipeline);
    const { batch } = await run(activities.receiveHeldBatch, receiveInput({ leaseSeconds }));
    assert.equal(batch?.messages, 100);
    await run(activities.maskHeldBatch, batch.id);
    const load = await run(activities.loadHeldBatch, batch.id);
    return { activities, batch, load };
  }

  it('loads nothing twice when messages already loaded come back (a worker lost before its delete)', async () => {
    const pipeline = pipelineOf();
    await pipeline.send(sample);
    // A first worker receives, masks and loads everything, then dies before deleting: its lease is not renewed.
    const { batch, load } = await receiveAndLoad(pipeline, 2);
    pipeline.deps.held.release(batch.id);
    assert.deepEqual([load.loaded, load.quarantined], [99, 1]);

    // Their lease ends, SQS delivers them again, and the drain finds every one already there.
    const summary = await pipeline.drain();
    assert.deepEqual(
      [summary.received, summary.loaded, summary.quarantined, summary.duplicates, summary.deleted],
      [100, 0, 0, 100, 100],
    );
    assert.deepEqual(await pipeline.counts(), { rows: 99, quarantined: 1 });
    assert.deepEqual(await pipeline.queueDepth(), { visible: 0, inFlight: 0, delayed: 0 });

    const again = await pipeline.drain();
    assert.equal(again.received, 0);
  });

  it("counts a retried load exactly: its own earlier commit as loaded, another batch's as duplicates", async () => {
    const pipeline = pipelineOf();
    await pipeline.send(sample);
    // The first attempt commits, then its result is lost on the way to the server: Temporal runs the same load again.
    const { activities, batch } = await receiveAndLoad(pipeline, 30);
    const retried = await run(activities.loadHeldBatch, batch.id);
    assert.deepEqual(
      [retried.loaded, retried.quarantined, retried.duplicates],
      [99, 1, 0],
      'the retry reports what this batch committed',
    );
    // A lost batch is settled by what its load committed.
    assert.deepEqual(await run(activities.settleLostBatch, batch.id), { loaded: 99, quarantined: 1 });
    // The same messages received again are another batch: all duplicates.
    await pipeline.deps.held.giveUpAll('test: received again');
    const redelivered = await receiveAndLoad(pipeline, 30);
    assert.deepEqual([redelivered.load.loaded, redelivered.load.quarantined, redelivered.load.duplicates], [0, 0, 100]);
    await run(activities.deleteHeldBatch, redelivered.batch.id);
    assert.deepEqual(await pipeline.queueDepth(), { visible: 0, inFlight: 0, delayed: 0 });
  });
});

describe('a delete verified against Postgres', () => {
  const pipelineOf = usePipeline('verified-delete');

  it('deletes only messages with a committed row or record, and leaves the rest to redelivery', async () => {
    const pipeline = pipelineOf();
    await pipeline.send(sample);
    const activities = activitiesOf(pipeline);
    const { batch } = await run(activities.receiveHeldBatch, receiveInput({ leaseSeconds: 5 }));
    assert.equal(batch?.messages, 100);
    await run(activities.maskHeldBatch, batch.id);
    // The load never ran (its result completed by hand): nothing may be deleted.
    const removal = await run(activities.deleteHeldBatch, batch.id);
    assert.deepEqual(removal, { deleted: 0, stale: 0, uncommitted: 100 });
    const depth = await pipeline.queueDepth();
    assert.equal(depth.visible + depth.inFlight, 100, 'every message is still in the queue');
    const summary = await pipeline.drain({ visibilityTimeoutSeconds: 10 });
    assert.deepEqual([summary.loaded, summary.quarantined, summary.deleted], [99, 1, 100]);
  });
});

describe('a batch held by its worker', () => {
  const pipelineOf = usePipeline('held');

  it('counts deletes after its lease ran out as stale, never as deleted (SQS may answer them with a silent success)', async () => {
    const pipeline = pipelineOf();
    await pipeline.send(sample);
    const activities = activitiesOf(pipeline);
    const { batch } = await run(activities.receiveHeldBatch, receiveInput());
    await run(activities.maskHeldBatch, batch!.id);
    await run(activities.loadHeldBatch, batch!.id);
    // As if the worker had been stopped past the lease (a long GC pause, a frozen VM): no renewal came in time.
    pipeline.deps.held.get(batch!.id).leaseEndsAt = Date.now() - 1;
    assert.deepEqual(await run(activities.deleteHeldBatch, batch!.id), { deleted: 0, stale: 100, uncommitted: 0 });
  });

  it('stays hidden past its lease while held, and is visible again at once when given up', async () => {
    const pipeline = pipelineOf();
    await pipeline.send(sample);
    const activities = activitiesOf(pipeline);
    const { batch } = await run(activities.receiveHeldBatch, receiveInput({ leaseSeconds: 2 }));
    assert.equal(batch?.messages, 100);
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    assert.deepEqual(await pipeline.queueDepth(), { visible: 0, inFlight: 100, delayed: 0 }, 'the lease was renewed');
    await pipeline.deps.held.giveUpAll('test: the worker stops');
    assert.deepEqual(await pipeline.queueDepth(), { visible: 100, inFlight: 0, delayed: 0 });
    await assert.rejects(run(activities.maskHeldBatch, batch.id), { type: 'BatchNotHeld' });
  });
});

describe('a receive near its byte bound', () => {
  const pipelineOf = usePipeline('byte-bound');

  it('asks only for what can still fit, so few messages are handed back (each receive counts toward the DLQ)', async () => {
    const pipeline = pipelineOf();
    const event = JSON.parse(sample[0]!) as Record<string, unknown>;
    // About 5 KB each: the first call's ten fit in the bound below, and hardly any more.
    const bodies = Array.from({ length: 80 }, (_, i) => JSON.stringify({ ...event, note: `${i}`.padEnd(5_000, '.') }));
    await pipeline.send(bodies);
    const { receiveHeldBatch, deleteHeldBatch } = activitiesOf(pipeline);
    const received = await run(receiveHeldBatch, receiveInput({ maxMessages: 200, maxBytes: 64 * 1024 }));
    const taken = received.batch?.messages ?? 0;
    assert.ok(taken >= 10 && taken <= 12, `${taken} taken`);
    assert.ok(
      received.released <= 10,
      `${received.released} handed back: at most what one call returned past the bound`,
    );
    await run(deleteHeldBatch, received.batch!.id);
  });
});

describe('a message SQS returns twice within one receive', () => {
  const pipelineOf = usePipeline('repeats');

  it('is kept once, with the newest receipt handle, and deleted with it', async () => {
    const pipeline = pipelineOf();
    await pipeline.send(sample.slice(0, 10));
    // The first answer comes back after the 1 s lease has run out, so the next call returns the same ten again.
    const handles: string[][] = [];
    pipeline.deps.sqs.middlewareStack.add(
      (next, context) => async (args) => {
        const result = await next(args);
        if (context.commandName !== 'ReceiveMessageCommand') return result;
        const messages = (result.output as { Messages?: { ReceiptHandle?: string }[] }).Messages ?? [];
        if (messages.length > 0) handles.push(messages.map((message) => message.ReceiptHandle!));
        if (handles.length === 1) await new Promise((resolve) => setTimeout(resolve, 1_500));
        return result;
      },
      { step: 'finalizeRequest', name: 'answerAfterTheLease' },
    );
    const { receiveHeldBatch, maskHeldBatch, loadHeldBatch, deleteHeldBatch } = activitiesOf(pipeline);
    const { batch } = await run(receiveHeldBatch, receiveInput({ leaseSeconds: 1, waitTimeSeconds: 0 }));
    assert.equal(handles.length, 2, 'the ten came twice');
    assert.equal(batch?.messages, 10, 'kept once each');
    const entries = pipeline.deps.held.get(batch.id).entries;
    assert.deepEqual(
      entries.map((entry) => entry.receiptHandle).sort(),
      [...handles[1]!].sort(),
      'with the newest receipt handles',
    );
    await run(maskHeldBatch, batch.id);
    const load = await run(loadHeldBatch, batch.id);
    assert.deepEqual([load.loaded + load.quarantined, load.duplicates], [10, 0]);
    await run(deleteHeldBatch, batch.id);
    assert.deepEqual(await pipeline.queueDepth(), { visible: 0, inFlight: 0, delayed: 0 }, 'deleted with them');
  });
});

describe('a receive cancelled halfway (its worker stopping)', () => {
  const pipelineOf = usePipeline('cancelled-receive');

  it('hands back the messages it had taken, so they are visible at once instead of after the timeout', async () => {
    const pipeline = pipelineOf();
    await pipeline.send(sample);
    const environment = new MockActivityEnvironment();
    // The worker stops just after the first ReceiveMessage answered: the cancellation reaches the second one.
    let receives = 0;
    pipeline.deps.sqs.middlewareStack.add(
      (next, context) => async (args) => {
        const result = await next(args);
        if (context.commandName === 'ReceiveMessageCommand' && ++receives === 1) environment.cancel('WORKER_SHUTDOWN');
        return result;
      },
      { step: 'finalizeRequest', name: 'cancelAfterFirstCall' },
    );
    const { receiveHeldBatch } = activitiesOf(pipeline);
    await assert.rejects(environment.run(receiveHeldBatch, receiveInput({ leaseSeconds: 300 })));
    assert.equal(pipeline.deps.held.size, 0, 'nothing held');
    assert.equal(receives, 1, 'one batch of 10 was taken before the cancellation');
    assert.deepEqual(await pipeline.queueDepth(), { visible: 100, inFlight: 0, delayed: 0 });
  });
});

describe('search attributes of a drain', () => {
  const pipelineOf = usePipeline('attributes');

  it('publishes the totals and the final state, and the Web UI can filter runs by them', async () => {
    const pipeline = pipelineOf();
    await pipeline.send(sample);
    const summary = await pipeline.drain();
    const description = await pipeline.client.workflow.getHandle(summary.workflowId).describe();
    const attribute = <T extends keyof typeof DRAIN_SEARCH_ATTRIBUTES>(name: T) =>
      description.typedSearchAttributes.get(DRAIN_SEARCH_ATTRIBUTES[name]);
    assert.deepEqual(
      ['queue', 'state', 'received', 'loaded', 'quarantined'].map((name) =>
        attribute(name as keyof typeof DRAIN_SEARCH_ATTRIBUTES),
      ),
      [pipeline.config.SQS_QUEUE_NAME, 'drained', 100, 99, 1],
    );
    const query = `LoginEtlQueue = '${pipeline.config.SQS_QUEUE_NAME}' AND LoginEtlQuarantined > 0 AND LoginEtlState = 'drained'`;
    await waitUntil('visibility', async () => {
      const ids: string[] = [];
      for await (const run of pipeline.client.workflow.list({ query })) ids.push(run.workflowId);
      return ids.length === 1 && ids[0] === summary.workflowId;
    });
  });

  it('are left out when the drain is started without them', async () => {
    const pipeline = pipelineOf();
    const summary = await pipeline.drain({ searchAttributes: false });
    const description = await pipeline.client.workflow.getHandle(summary.workflowId).describe();
    assert.equal(description.typedSearchAttributes.get(DRAIN_SEARCH_ATTRIBUTES.loaded), undefined);
  });
});
