'use strict';
// Deterministic failure injection for pipeline tests. With rate r, the n-th
// request fails when floor(n*r) > floor((n-1)*r): failures are spread evenly
// (r=0.5 -> every 2nd, r=0.25 -> every 4th) and the count is exact, so tests
// never depend on randomness.

const EPSILON = 1e-9; // absorbs float error such as 0.29*100 = 28.999...

class FailRate {
  constructor(rate = 0) {
    this.set(rate);
  }

  set(rate) {
    if (typeof rate !== 'number' || !(rate >= 0 && rate <= 1)) {
      throw new RangeError('fail rate must be a number between 0 and 1');
    }
    this.rate = rate;
    this.n = 0; // restart the sequence so a new rate takes effect predictably
  }

  shouldFail() {
    if (this.rate === 0) return false;
    this.n++;
    return Math.floor(this.n * this.rate + EPSILON) > Math.floor((this.n - 1) * this.rate + EPSILON);
  }
}

module.exports = { FailRate };
