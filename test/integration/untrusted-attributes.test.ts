import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SendMessageBatchCommand, type MessageAttributeValue } from '@aws-sdk/client-sqs';
import fc from 'fast-check';
import { REDRIVE_ATTRIBUTES } from '../../src/core/message-origin';
import { validateLoginMessage } from '../../src/core/validate-message';
import { readBodies, SAMPLE_DATA_FILE } from '../../src/seed-messages';
import { chunks } from '../../src/sqs';
import { hostileBody, sqsAccepts } from '../helpers/hostile-bodies';
import { usePipeline, type TestPipeline } from '../helpers/pipeline';

const sample = readBodies(SAMPLE_DATA_FILE);
const { messageId: ID, sentTimestamp: TIME, signature: SIGNATURE } = REDRIVE_ATTRIBUTES;

type Attributes = Record<string, string>;

/** Sends each body with the attributes given (all as String, as any producer may), returns SQS's message ids. */
async function sendWithAttributes(pipeline: TestPipeline, messages: { body: string; attributes: Attributes }[]) {
  const ids: string[] = [];
  for (const chunk of chunks(messages)) {
    const { Successful = [], Failed = [] } = await pipeline.deps.sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: pipeline.queueUrl,
        Entries: chunk.map(({ body, attributes }, index) => ({
          Id: String(index),
          MessageBody: body,
          MessageAttributes: Object.fromEntries(
            Object.entries(attributes).map(([name, value]): [string, MessageAttributeValue] => [
              name,
              { DataType: 'String', StringValue: value },
            ]),
          ),
        })),
      }),
    );
    assert.deepEqual(Failed, []);
    ids.push(...Successful.sort((a, b) => Number(a.Id) - Number(b.Id)).map((entry) => entry.MessageId!));
  }
  return ids;
}

/** Every message id that became a row or a quarantine record, with how many times. */
async function committedIds(pipeline: TestPipeline): Promise<Map<string, number>> {
  const { rows } = await pipeline.deps.pool.query<{ id: string }>(
    'SELECT message_id AS id FROM user_logins UNION ALL SELECT message_id FROM quarantined_messages',
  );
  const counts = new Map<string, number>();
  for (const { id } of rows) counts.set(id, (counts.get(id) ?? 0) + 1);
  return counts;
}

describe('message attributes a producer sets', () => {
  const pipelineOf = usePipeline('untrusted-attributes');

  it('never fail or stall a drain: a forged origin is ignored, each message is one row or record under its own id', async () => {
    const pipeline = pipelineOf();
    const [victim] = await sendWithAttributes(pipeline, [{ body: sample[0]!, attributes: {} }]);
    const event = JSON.parse(sample[1]!) as Record<string, unknown>;
    const forged: Attributes[] = [
      { [ID]: 'abc-1', [TIME]: 'abc' },
      { [ID]: 'abc-2', [TIME]: '1e20' },
      { [ID]: 'abc-3', [TIME]: '-31536000000000' },
      { [ID]: 'abc-4', [TIME]: '99999999999999999999999' },
      { [ID]: 'x'.repeat(129), [TIME]: String(Date.now()) },
      { [ID]: ' ', [TIME]: String(Date.now()) },
      // Another message's id and a plausible time, unsigned: it would have been taken for a duplicate.
      { [ID]: victim!, [TIME]: String(Date.now() - 1000) },
      { [ID]: victim!, [TIME]: String(Date.now() - 1000), [SIGNATURE]: 'forged' },
    ];
    const ids = await sendWithAttributes(pipeline, [
      ...forged.map((attributes, i) => ({ body: JSON.stringify({ ...event, user_id: `forged-${i}` }), attributes })),
      ...sample.slice(2).map((body) => ({ body, attributes: {} })),
    ]);

    const summary = await pipeline.drain();
    assert.equal(summary.loaded + summary.quarantined, 107, 'each message became exactly one thing');
    assert.equal(summary.duplicates, 0, 'no message passed for another');
    const committed = await committedIds(pipeline);
    assert.deepEqual([...committed.keys()].sort(), [victim!, ...ids].sort(), 'each under its own SQS message id');
    assert.ok([...committed.values()].every((count) => count === 1));
    const { rows } = await pipeline.deps.pool.query<{ day: string }>(
      `SELECT DISTINCT to_char(create_date, 'YYYY') AS day FROM user_logins`,
    );
    assert.deepEqual(
      rows.map((row) => row.day),
      [String(new Date().getUTCFullYear())],
      'every date is the time SQS received it',
    );
    assert.deepEqual(await pipeline.queueDepth(), { visible: 0, inFlight: 0, delayed: 0 });
  });

  it('with any body: arbitrary bodies and attributes each end as one row or one record (property)', async () => {
    const pipeline = pipelineOf();
    const attributeText = fc.oneof(
      fc.stringMatching(/^-?\d{1,25}$/),
      fc.uuid(),
      fc.string({ minLength: 1, maxLength: 200 }),
      fc.constantFrom('1e20', 'NaN', 'Infinity', '0x10', ' 12 ', String(Date.now())),
    );
    const attributes = fc.dictionary(fc.constantFrom(ID, TIME, SIGNATURE, 'other.attribute'), attributeText, {
      maxKeys: 4,
    });
    const messages = fc
      .sample(fc.record({ body: hostileBody, attributes }), { numRuns: 400, seed: 20261204 })
      .filter(({ body, attributes }) => sqsAccepts(body) && Object.values(attributes).every(sqsAccepts));
    const ids = await sendWithAttributes(pipeline, messages);
    const valid = messages.filter(({ body }) => validateLoginMessage(body).ok).length;

    const before = await pipeline.counts();
    const summary = await pipeline.drain();
    assert.equal(summary.loaded + summary.quarantined, messages.length);
    const after = await pipeline.counts();
    assert.deepEqual(
      { rows: after.rows - before.rows, quarantined: after.quarantined - before.quarantined },
      { rows: valid, quarantined: messages.length - valid },
    );
    const committed = await committedIds(pipeline);
    assert.ok(
      ids.every((id) => committed.get(id) === 1),
      'each under its own id, once',
    );
  });
});
