import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createSqsClient } from '../../src/sqs';
import { HELD_BYTES_PER_PAYLOAD_BYTE, HeldBatches } from '../../src/activities/held-batches';
import type { ReceivedMessage } from '../../src/core/types';

const sqs = createSqsClient({ sqsEndpoint: 'http://127.0.0.1:9', AWS_REGION: 'us-east-1' });
const terms = { leaseSeconds: 600, holdSeconds: 600 };
const messages: ReceivedMessage[] = [
  { messageId: 'm1', receiptHandle: 'r1', body: '{}', bodyBytes: 2, sentTimestamp: 1, receiveCount: 1 },
];

describe('batches held by a worker', () => {
  it('count against a memory cap: a receive gets what is free, and waits for a batch to go when nothing is', async () => {
    const held = new HeldBatches(sqs, 'q', 1000 * HELD_BYTES_PER_PAYLOAD_BYTE);
    const first = await held.reserve(700, 100);
    assert.equal(first.payloadBytes, 700);
    const batch = held.hold('url', messages, terms, Date.now(), 700);
    first.release();
    const second = await held.reserve(700, 100);
    assert.equal(second.payloadBytes, 300, 'what is left under the cap');
    second.release();
    const third = held.reserve(700, 400);
    let reserved = false;
    void third.then(() => (reserved = true));
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(reserved, false, 'less than one message of the largest kind is free: it waits');
    held.release(batch.id);
    assert.equal((await third).payloadBytes, 700);
    (await third).release();
  });

  it('lengthen the lease when batches have lately taken long, or SQS’s pace says they will; never shorten it', () => {
    const held = new HeldBatches(sqs, 'q');
    assert.equal(held.leaseFor(60), 60);
    // Held for 90 s less 100 ms, so the milliseconds until its release cannot round four times it past 360 s.
    const batch = held.hold('url', messages, terms, Date.now() - 89_900);
    held.release(batch.id);
    assert.equal(held.leaseFor(60), 360, 'four times the slowest recent batch');
    assert.equal(held.leaseFor(600), 600);
    assert.equal(held.leaseFor(60, 30), 360, 'nor shorter than four times what SQS would take for the held batches');
    assert.equal(held.leaseFor(60, 200), 800);
  });

  it('renew a lease only once the last renewal is done: on a slow SQS renewals would pile up and starve deletes', async () => {
    const slowSqs = createSqsClient({ sqsEndpoint: 'http://127.0.0.1:9', AWS_REGION: 'us-east-1' });
    let renewals = 0;
    slowSqs.middlewareStack.add(
      () => async () => {
        renewals++;
        await new Promise((resolve) => setTimeout(resolve, 1_500));
        return { output: { Failed: [], Successful: [], $metadata: {} }, response: {} };
      },
      { step: 'initialize', name: 'slowRenewal' },
    );
    const held = new HeldBatches(slowSqs, 'q');
    const many = Array.from({ length: 25 }, (_, i) => ({
      ...messages[0]!,
      messageId: `m${i}`,
      receiptHandle: `r${i}`,
    }));
    // Renewed every third of a second, each renewal (3 calls of 10) taking 1.5 s.
    const batch = held.hold('url', many, { leaseSeconds: 1, holdSeconds: 60 });
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    held.release(batch.id);
    assert.ok(renewals <= 6, `${renewals} calls: at most two renewals of three calls each`);
  });
});
