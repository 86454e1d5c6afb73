'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { FailRate } = require('../../src/faults');

const run = (rate, n) => {
  const f = new FailRate(rate);
  return Array.from({ length: n }, () => f.shouldFail());
};
const count = (arr) => arr.filter(Boolean).length;

test('rate 0 never fails, rate 1 always fails', () => {
  assert.equal(count(run(0, 100)), 0);
  assert.equal(count(run(1, 100)), 100);
});

test('failures are spread evenly and deterministically', () => {
  assert.deepEqual(run(0.5, 6), [false, true, false, true, false, true]);
  assert.deepEqual(run(0.25, 8), [false, false, false, true, false, false, false, true]);
  assert.deepEqual(run(0.5, 6), run(0.5, 6));
});

test('the count is exact for any window starting at the beginning', () => {
  for (const rate of [0.1, 0.2, 0.29, 0.3, 0.33, 0.7, 0.9]) {
    assert.equal(count(run(rate, 100)), Math.round(rate * 100), `rate ${rate}`);
  }
});

test('set() changes the rate and restarts the sequence', () => {
  const f = new FailRate(1);
  assert.equal(f.shouldFail(), true);
  f.set(0.5);
  assert.deepEqual([f.shouldFail(), f.shouldFail()], [false, true]);
});

test('invalid rates are rejected', () => {
  for (const bad of [-0.1, 1.5, NaN, '0.5', null]) {
    assert.throws(() => new FailRate(bad), RangeError);
  }
});
