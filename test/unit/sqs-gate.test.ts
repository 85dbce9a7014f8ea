import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AdaptiveLimit } from '../../src/sqs/adaptive-limit';
import { batchSizeFor } from '../../src/activities/receive-batch';
import { backoffMs, dropReason, MAX_ATTEMPTS, priorityOf, SqsGate } from '../../src/sqs/gate';

const call = (startedAt: number, inFlight = 20) => ({ operation: 'ReceiveMessage', startedAt, inFlight });

describe('AdaptiveLimit', () => {
  it('grows by about one per round of calls on target, and only while the limit is used', () => {
    const limit = new AdaptiveLimit({ initial: 10 });
    for (let i = 0; i < 10; i++) limit.record(call(i, 10), { kind: 'ok', latencyMs: 5 }, i);
    assert.equal(limit.limit, 10, 'a round of 10 calls adds about one: 10.9…');
    for (let i = 10; i < 12; i++) limit.record(call(i, 10), { kind: 'ok', latencyMs: 5 }, i);
    assert.equal(limit.limit, 11);
    for (let i = 12; i < 100; i++) limit.record(call(i, 2), { kind: 'ok', latencyMs: 5 }, i);
    assert.equal(limit.limit, 11, 'calls that leave most of the limit unused do not raise it');
  });

  it('halves on a drop, once for the calls that were in flight together, and never below the minimum', () => {
    const limit = new AdaptiveLimit({ initial: 40 });
    limit.record(call(100), { kind: 'drop' }, 200);
    assert.equal(limit.limit, 20);
    limit.record(call(150), { kind: 'drop' }, 210);
    assert.equal(limit.limit, 20, 'a call started before the cut reports the same congestion');
    for (let t = 300; t < 310; t++) limit.record(call(t), { kind: 'drop' }, t + 1);
    assert.equal(limit.limit, 1);
  });

  it('cuts by a tenth when calls queue at the server (latency past three times its low plus 100 ms)', () => {
    const limit = new AdaptiveLimit({ initial: 20 });
    limit.record(call(0), { kind: 'ok', latencyMs: 100 }, 100);
    assert.equal(limit.targetMs('ReceiveMessage'), 400, 'two calls may wait behind one at a server serving one');
    limit.record(call(200), { kind: 'ok', latencyMs: 380 }, 580);
    assert.ok(limit.limit >= 20, 'within the target');
    limit.record(call(600), { kind: 'ok', latencyMs: 500 }, 1100);
    assert.equal(limit.limit, 18);
  });

  it('forgets an old low latency after two windows, so a server that became slower for good is learnt', () => {
    const limit = new AdaptiveLimit({ baselineWindowMs: 1000 });
    limit.record(call(0), { kind: 'ok', latencyMs: 10 }, 10);
    for (let t = 1000; t <= 3000; t += 500) limit.record(call(t), { kind: 'ok-unmeasured' }, t);
    limit.record(call(3000), { kind: 'ok', latencyMs: 500 }, 3500);
    limit.record(call(4100), { kind: 'ok', latencyMs: 500 }, 4600);
    assert.equal(limit.targetMs('ReceiveMessage'), 1600);
  });
});

describe('SqsGate', () => {
  it('lets lease renewals in first and receives last when the limit is reached', async () => {
    const gate = new SqsGate({ initial: 1, max: 1 });
    const order: string[] = [];
    let release!: () => void;
    const blocker = new Promise<void>((resolve) => (release = resolve));
    const first = gate.run('ReceiveMessage', 'receive', () => blocker);
    const queued = (['receive', 'delete', 'lease', 'hand-back'] as const).map((priority) =>
      gate.run(priority, priority, () => Promise.resolve(void order.push(priority))),
    );
    release();
    await Promise.all([first, ...queued]);
    assert.deepEqual(order, ['lease', 'hand-back', 'delete', 'receive']);
  });

  it('tries a dropped call again with a jittered backoff, cutting the limit, and gives up after its attempts', async () => {
    const gate = new SqsGate({ initial: 8 });
    let attempts = 0;
    const reset = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    const result = await gate.run('DeleteMessageBatch', 'delete', () =>
      ++attempts < 3 ? Promise.reject(reset) : Promise.resolve('deleted'),
    );
    assert.equal(result, 'deleted');
    assert.equal(attempts, 3);
    assert.ok(gate.limit.limit < 8);
    attempts = 0;
    await assert.rejects(
      gate.run('DeleteMessageBatch', 'delete', () => {
        attempts++;
        return Promise.reject(reset);
      }),
      /socket hang up/,
    );
    assert.equal(attempts, MAX_ATTEMPTS);
  });

  it('passes on at once an error no retry can mend', async () => {
    const gate = new SqsGate();
    let attempts = 0;
    const missing = Object.assign(new Error('no queue'), {
      name: 'QueueDoesNotExist',
      $metadata: { httpStatusCode: 400 },
    });
    await assert.rejects(
      gate.run('GetQueueUrl', 'attributes', () => {
        attempts++;
        return Promise.reject(missing);
      }),
    );
    assert.equal(attempts, 1);
  });

  it('stops waiting for a place when the call is cancelled', async () => {
    const gate = new SqsGate({ initial: 1, max: 1 });
    let release!: () => void;
    const blocker = new Promise<void>((resolve) => (release = resolve));
    const busy = gate.run('ReceiveMessage', 'receive', () => blocker);
    const controller = new AbortController();
    const waiting = gate.run('ReceiveMessage', 'receive', () => Promise.resolve('ran'), { signal: controller.signal });
    controller.abort(new Error('cancelled'));
    await assert.rejects(waiting, /cancelled/);
    release();
    await busy;
    assert.equal(
      await gate.run('ReceiveMessage', 'receive', () => Promise.resolve('ran')),
      'ran',
      'its place was given back',
    );
  });
});

describe('what the gate reads of a call', () => {
  it('tells throttling, timeouts, lost connections and server errors from request errors', () => {
    assert.equal(dropReason(Object.assign(new Error(), { name: 'ThrottlingException' })), 'throttled');
    assert.equal(dropReason(Object.assign(new Error(), { name: 'RequestThrottled' })), 'throttled');
    assert.equal(dropReason(Object.assign(new Error(), { name: 'OverLimit' })), 'throttled');
    assert.equal(dropReason(Object.assign(new Error(), { $metadata: { httpStatusCode: 429 } })), 'throttled');
    assert.equal(dropReason(Object.assign(new Error('requestTimeout'), { name: 'TimeoutError' })), 'timeout');
    assert.equal(dropReason(Object.assign(new Error(), { code: 'ECONNREFUSED' })), 'connection');
    assert.equal(dropReason(new Error('socket hang up')), 'connection');
    assert.equal(dropReason(Object.assign(new Error(), { $metadata: { httpStatusCode: 500 } })), 'server-error');
    assert.equal(
      dropReason(Object.assign(new Error(), { name: 'InvalidParameterValue', $metadata: { httpStatusCode: 400 } })),
      undefined,
    );
  });

  it('places visibility changes to 0 after lease renewals, and deletes before receives', () => {
    assert.equal(priorityOf('ChangeMessageVisibilityBatchCommand', { Entries: [{ VisibilityTimeout: 60 }] }), 'lease');
    assert.equal(
      priorityOf('ChangeMessageVisibilityBatchCommand', { Entries: [{ VisibilityTimeout: 0 }] }),
      'hand-back',
    );
    assert.equal(priorityOf('DeleteMessageBatchCommand', {}), 'delete');
    assert.equal(priorityOf('GetQueueAttributesCommand', {}), 'attributes');
    assert.equal(priorityOf('ReceiveMessageCommand', {}), 'receive');
  });

  it('backs off with full jitter up to a cap', () => {
    assert.equal(
      backoffMs(1, () => 1),
      100,
    );
    assert.equal(
      backoffMs(3, () => 0.5),
      200,
    );
    assert.equal(
      backoffMs(20, () => 1),
      5000,
    );
  });
});

describe('the size of a batch', () => {
  const answering = (callsPerSecond: number) => ({ callsPerSecond: () => callsPerSecond, measured: true });

  it('is what was asked while SQS answers fast, and shrinks, in whole calls of 10, when it is slow', () => {
    const untimed = { callsPerSecond: () => Infinity, measured: false };
    assert.equal(batchSizeFor(untimed, 1000), 10, 'one call until timed');
    assert.equal(batchSizeFor(untimed, 1000, 10), 20, 'and one more while the first was a long poll');
    assert.equal(batchSizeFor(answering(1000), 1000), 1000, 'SQS in the same region: 20 calls of 20 ms');
    assert.equal(batchSizeFor(answering(7), 1000), 30, 'a server taking 300 ms a call, two at once');
    assert.equal(batchSizeFor(answering(0.5), 1000), 10, 'never less than one call');
    assert.equal(batchSizeFor(answering(1000), 25), 25);
  });

  it('follows what the gate measured: calls in flight over their latency', async () => {
    const gate = new SqsGate({ initial: 2, max: 2 });
    // At least 100 ms by the clock the gate reads: a timer may fire a millisecond early by Date.now().
    const slowCall = async () => {
      const started = Date.now();
      while (Date.now() - started < 100) await new Promise((resolve) => setTimeout(resolve, 5));
    };
    await Promise.all([
      gate.run('ReceiveMessage', 'receive', slowCall),
      gate.run('ReceiveMessage', 'receive', slowCall),
    ]);
    const perSecond = gate.callsPerSecond();
    // Two calls in flight over at least 100 ms; a busy machine may stretch the calls, never shorten them.
    assert.ok(perSecond > 5 && perSecond <= 20, `${perSecond} calls a second`);
    assert.equal(batchSizeFor(gate, 1000), Math.floor(perSecond * 0.5) * 10);
  });
});
