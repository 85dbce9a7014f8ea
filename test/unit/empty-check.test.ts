import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EmptyCheck } from '../../src/workflows/empty-check';

const options = { visibilityTimeoutSeconds: 60, emptyGraceSeconds: 3, emptyConfirmSeconds: 5 };
const zero = { visible: 0, inFlight: 0, delayed: 0 };

describe('EmptyCheck', () => {
  it('does not call a queue empty on one zero count that lags behind messages just sent', () => {
    // The counts read zero once, then the messages sent a moment before show up.
    const reads = [zero, { visible: 2000, inFlight: 0, delayed: 0 }];
    const check = new EmptyCheck(options);
    assert.equal(check.isEmptyAfter(reads[0], 0), false);
    assert.equal(check.isEmptyAfter(reads[1], 3_000), false);
  });

  it('calls it empty after zero counts read repeatedly over the confirmation window', () => {
    const check = new EmptyCheck(options);
    assert.equal(check.isEmptyAfter(zero, 0), false);
    assert.equal(check.isEmptyAfter(zero, 3_000), false, 'two reads, but only 3 s apart');
    assert.equal(check.isEmptyAfter(zero, 6_000), true);
  });

  it('starts the window again after a receive brings messages or the counts are not zero', () => {
    const check = new EmptyCheck(options);
    check.isEmptyAfter(zero, 0);
    check.received();
    assert.equal(check.isEmptyAfter(zero, 6_000), false);
    check.isEmptyAfter({ visible: 0, inFlight: 3, delayed: 0 }, 9_000);
    assert.equal(check.isEmptyAfter(zero, 12_000), false);
    assert.equal(check.isEmptyAfter(zero, 17_000), true);
  });

  it('stops waiting for messages in flight elsewhere after their lease and the grace period', () => {
    const check = new EmptyCheck(options);
    const inFlight = { visible: 0, inFlight: 5, delayed: 0 };
    assert.equal(check.isEmptyAfter(inFlight, 0), false);
    assert.equal(check.isEmptyAfter(inFlight, 63_001), true);
  });
});
