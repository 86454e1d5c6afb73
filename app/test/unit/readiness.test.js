'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { aggregate, localChecks, runDependencyChecks, checkReadiness } = require('../../src/readiness');

const baseState = { startedAt: 1000, startDelayMs: 0, draining: false, unhealthy: false };

test('aggregate: all ok -> 200 ready, checks keyed by name', () => {
  const r = aggregate([
    { name: 'startup', ok: true },
    { name: 'redis', ok: true, latencyMs: 1 },
  ]);
  assert.equal(r.statusCode, 200);
  assert.deepEqual(r.body, { status: 'ready', checks: { startup: { ok: true }, redis: { ok: true, latencyMs: 1 } } });
});

test('aggregate: any failure -> 503 not_ready', () => {
  const r = aggregate([
    { name: 'startup', ok: true },
    { name: 'redis', ok: false, error: 'boom' },
  ]);
  assert.equal(r.statusCode, 503);
  assert.equal(r.body.status, 'not_ready');
  assert.equal(r.body.checks.redis.error, 'boom');
});

test('aggregate: no checks at all counts as ready', () => {
  assert.equal(aggregate([]).statusCode, 200);
});

test('localChecks: start delay, draining and forced unhealthy', () => {
  const okAll = localChecks(baseState, 2000);
  assert.ok(okAll.every((c) => c.ok));

  const starting = localChecks({ ...baseState, startDelayMs: 5000 }, 2000);
  assert.equal(starting[0].ok, false);
  assert.match(starting[0].detail, /4000ms left/);
  assert.equal(localChecks({ ...baseState, startDelayMs: 5000 }, 6000)[0].ok, true);

  assert.equal(localChecks({ ...baseState, draining: true }, 2000)[1].ok, false);
  assert.equal(localChecks({ ...baseState, unhealthy: true }, 2000)[2].ok, false);
});

test('runDependencyChecks: captures success, failure and latency', async () => {
  const results = await runDependencyChecks([
    { name: 'good', run: async () => {} },
    {
      name: 'bad',
      run: async () => {
        throw new Error('connect ECONNREFUSED');
      },
    },
  ]);
  assert.equal(results[0].ok, true);
  assert.equal(typeof results[0].latencyMs, 'number');
  assert.deepEqual(
    { ...results[1], latencyMs: 0 },
    { name: 'bad', ok: false, latencyMs: 0, error: 'connect ECONNREFUSED' },
  );
});

test('checkReadiness: combines local state and dependencies', async () => {
  const failing = [{ name: 'redis', run: () => Promise.reject(new Error('down')) }];
  const r = await checkReadiness(baseState, failing, 2000);
  assert.equal(r.statusCode, 503);
  assert.deepEqual(Object.keys(r.body.checks), ['startup', 'draining', 'healthy', 'redis']);
  assert.equal((await checkReadiness(baseState, [], 2000)).statusCode, 200);
});
