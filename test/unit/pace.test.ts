import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Pace } from '../../src/core/pace';

describe('Pace', () => {
  it('starts each reservation once those before it had their share of time, and takes back what was unused', () => {
    const pace = new Pace(200);
    assert.deepEqual(
      [pace.reserve(50, 0), pace.reserve(50, 0), pace.reserve(50, 10), pace.reserve(50, 10)],
      [0, 250, 500, 750],
    );
    pace.refund(50);
    assert.equal(pace.reserve(10, 100), 750, 'the unused quarter second is given to the next');
    assert.equal(pace.reserve(10, 5_000), 5_000, 'idle time is not saved up for a burst');
  });
});
