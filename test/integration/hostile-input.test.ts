import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import fc from 'fast-check';
import { validateLoginMessage } from '../../src/core/validate-message';
import { hostileBody, sqsAccepts } from '../helpers/hostile-bodies';
import { usePipeline } from '../helpers/pipeline';

const SEED = 20261122;
const MAX_SQS_BODY = 1_048_576;

describe('hostile input through the real pipeline', () => {
  const pipelineOf = usePipeline('hostile');

  it('makes each of 1,500 generated bodies, and bodies up to the SQS size limit, a row or a quarantine record', async () => {
    const pipeline = pipelineOf();
    const bodies = fc.sample(hostileBody, { numRuns: 1_500, seed: SEED }).filter(sqsAccepts);
    const event = { user_id: 'big', app_version: '1.2.3', device_type: 'ios', ip: '192.0.2.9', device_id: '1' };
    const huge = [
      // Valid, padded with an unknown key to the limit: kept in a compact form, loaded.
      JSON.stringify({ ...event, pad: 'x'.repeat(MAX_SQS_BODY - 200) }),
      // Quotes: JSON-escaped, twice the body's size, too large to carry; quarantined without its content.
      '"'.repeat(MAX_SQS_BODY),
      'not json '.repeat(MAX_SQS_BODY / 9 - 1),
    ];
    await pipeline.send(bodies);
    for (const body of huge) {
      await pipeline.deps.sqs.send(new SendMessageCommand({ QueueUrl: pipeline.queueUrl, MessageBody: body }));
    }
    const all = [...bodies, ...huge];
    const valid = all.filter((body) => validateLoginMessage(body).ok).length;

    const summary = await pipeline.drain();
    assert.equal(summary.loaded + summary.quarantined, all.length, 'each message became exactly one thing');
    assert.deepEqual(await pipeline.counts(), { rows: valid, quarantined: all.length - valid });
    assert.deepEqual(await pipeline.queueDepth(), { visible: 0, inFlight: 0, delayed: 0 });
    const { rows } = await pipeline.deps.pool.query<{ empty: number }>(
      `SELECT count(*)::int AS empty FROM quarantined_messages WHERE btrim(reason) = ''`,
    );
    assert.equal(rows[0]!.empty, 0, 'every record says why');
    assert.ok(valid > 100 && all.length - valid > 100, `a mix of both (${valid} valid of ${all.length})`);
  });
});
