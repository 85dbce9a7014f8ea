import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createActivities } from '../../src/activities';
import { encodeAppVersion } from '../../src/core/app-version';
import { tokenize } from '../../src/core/mask';
import { validateLoginMessage } from '../../src/core/validate-message';
import { readBodies, SAMPLE_DATA_FILE } from '../../src/seed-messages';
import { waitUntil } from '../../src/stack/readiness';
import { DRAIN_SEARCH_ATTRIBUTES } from '../../src/workflows/search-attributes';
import { runActivity as run } from '../helpers/activities';
import { usePipeline, type TestPipeline } from '../helpers/pipeline';

const sample = readBodies(SAMPLE_DATA_FILE);

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

  /** The sample sent and received as one batch, as a consumer outside the drain would take it. */
  async function receiveSample(pipeline: TestPipeline, visibilityTimeoutSeconds: number) {
    await pipeline.send(sample);
    const activities = createActivities(pipeline.deps);
    const received = await run(activities.receiveBatch, {
      maxMessages: 100,
      maxBytes: 1024 * 1024,
      waitTimeSeconds: 1,
      visibilityTimeoutSeconds,
    });
    assert.equal(received.messages.length, 100);
    return { activities, received };
  }

  it('loads nothing twice when messages already loaded come back (a consumer lost before its delete)', async () => {
    const pipeline = pipelineOf();
    // A first consumer receives, masks and loads everything, then dies before deleting.
    const { activities, received } = await receiveSample(pipeline, 2);
    const first = await run(activities.loadBatch, await run(activities.maskBatch, received.messages));
    assert.deepEqual([first.loaded, first.quarantined], [99, 1]);

    // Their visibility timeout ends, SQS delivers them again, and the drain finds every one already there.
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
    const { activities, received } = await receiveSample(pipeline, 30);
    const masked = await run(activities.maskBatch, received.messages);
    // The first attempt commits, then its worker dies before reporting: Temporal runs the same load again.
    await run(activities.loadBatch, masked);
    const retried = await run(activities.loadBatch, masked);
    assert.deepEqual(
      [retried.loaded, retried.quarantined, retried.duplicates],
      [99, 1, 0],
      'the retry reports what this batch committed',
    );
    // The same messages masked again are another batch (SQS delivered them again): all duplicates.
    const redelivered = await run(activities.loadBatch, await run(activities.maskBatch, received.messages));
    assert.deepEqual([redelivered.loaded, redelivered.quarantined, redelivered.duplicates], [0, 0, 100]);
    await run(activities.deleteBatch, received.messages);
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
    const { receiveBatch, deleteBatch } = createActivities(pipeline.deps);
    const received = await run(receiveBatch, {
      maxMessages: 200,
      maxBytes: 64 * 1024,
      waitTimeSeconds: 1,
      visibilityTimeoutSeconds: 30,
    });
    assert.ok(received.messages.length >= 10 && received.messages.length <= 12, `${received.messages.length} taken`);
    assert.ok(
      received.released <= 10,
      `${received.released} handed back: at most what one call returned past the bound`,
    );
    await run(deleteBatch, received.messages);
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
    const { receiveBatch } = createActivities(pipeline.deps);
    await assert.rejects(
      environment.run(receiveBatch, {
        maxMessages: 100,
        maxBytes: 1024 * 1024,
        waitTimeSeconds: 1,
        visibilityTimeoutSeconds: 300,
      }),
    );
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
