import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GetQueueUrlCommand } from '@aws-sdk/client-sqs';
import { readBodies, SAMPLE_DATA_FILE, sendBodies } from '../../src/seed-messages';
import { DEAD_LETTER_SUFFIX, getQueueDepth } from '../../src/sqs';
import { runCommand } from '../helpers/commands';
import { findLeaks, rawPiiValues } from '../helpers/pii';
import { usePipeline } from '../helpers/pipeline';

const sample = readBodies(SAMPLE_DATA_FILE);

describe('npm run dlq', () => {
  const pipelineOf = usePipeline('dlq');

  it('lists and shows dead letters without a raw value, and redrives them keeping their first ids', async () => {
    const pipeline = pipelineOf();
    const { QueueUrl: dlqUrl } = await pipeline.deps.sqs.send(
      new GetQueueUrlCommand({ QueueName: pipeline.env.SQS_QUEUE_NAME + DEAD_LETTER_SUFFIX }),
    );
    // As if each had been received five times without a delete.
    await sendBodies(pipeline.deps.sqs, dlqUrl!, sample);
    const raw = rawPiiValues(sample);

    const list = await runCommand('src/cli/dlq.ts', ['list'], pipeline.env);
    assert.equal(list.code, 0, list.stderr);
    const lines = list.stdout.trim().split('\n');
    assert.equal(lines.length, 101, 'a line per message and a total');
    assert.match(list.stdout, /valid login event \(user /);
    assert.match(list.stdout, /user_id is missing/);
    assert.deepEqual(findLeaks(list.stdout + list.stderr, raw), [], 'no raw value listed');
    assert.equal((await getQueueDepth(pipeline.deps.sqs, dlqUrl!)).visible, 100, 'listing takes nothing away');

    const id = lines[0]!.split(' ')[0]!;
    const show = await runCommand('src/cli/dlq.ts', ['show', id], pipeline.env);
    assert.equal(show.code, 0, show.stderr);
    const shown = JSON.parse(show.stdout) as { messageId: string; fields: string[]; verdict: string };
    assert.equal(shown.messageId, id);
    assert.ok(shown.fields.length > 0);
    assert.deepEqual(findLeaks(show.stdout, raw), [], 'no raw value shown');

    const some = await runCommand('src/cli/dlq.ts', ['redrive', '--max', '30'], pipeline.env);
    assert.match(some.stdout, /^30 moved back to the queue$/m);
    const rest = await runCommand('src/cli/dlq.ts', ['redrive'], pipeline.env);
    assert.match(rest.stdout, /^70 moved back to the queue$/m);
    assert.deepEqual(await getQueueDepth(pipeline.deps.sqs, dlqUrl!), { visible: 0, inFlight: 0, delayed: 0 });

    const summary = await pipeline.drain();
    assert.deepEqual([summary.loaded, summary.quarantined], [99, 1]);
    const { rows } = await pipeline.deps.pool.query<{ id: string }>(
      'SELECT message_id AS id FROM user_logins UNION ALL SELECT message_id FROM quarantined_messages',
    );
    assert.ok(
      rows.some((row) => row.id === id),
      'rows keep the id each message had in the dead-letter queue',
    );
  });

  it('redrives dead letters too large to go back ten to a call (ten bodies of 250 KB)', async () => {
    const pipeline = pipelineOf();
    const { QueueUrl: dlqUrl } = await pipeline.deps.sqs.send(
      new GetQueueUrlCommand({ QueueName: pipeline.env.SQS_QUEUE_NAME + DEAD_LETTER_SUFFIX }),
    );
    const large = Array.from({ length: 10 }, (_, i) => `not json ${i} `.padEnd(250_000, 'x'));
    await sendBodies(pipeline.deps.sqs, dlqUrl!, large);
    const redrive = await runCommand('src/cli/dlq.ts', ['redrive'], pipeline.env);
    assert.equal(redrive.code, 0, redrive.stderr);
    assert.match(redrive.stdout, /^10 moved back to the queue$/m);
    assert.deepEqual(await getQueueDepth(pipeline.deps.sqs, dlqUrl!), { visible: 0, inFlight: 0, delayed: 0 });
    assert.equal((await pipeline.queueDepth()).visible, 10);
  });
});
