'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const net = require('node:net');
const { startServer, closedPort } = require('./helpers');

function listen(onConnection) {
  return new Promise((resolve) => {
    const sockets = new Set();
    const srv = net.createServer((s) => {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      onConnection(s);
    });
    srv.listen(0, '127.0.0.1', () =>
      resolve({
        port: srv.address().port,
        close: () => new Promise((r) => (sockets.forEach((s) => s.destroy()), srv.close(r))),
      }),
    );
  });
}

test('readyz is 200 against the real Redis in REDIS_URI', { timeout: 20000 }, async (t) => {
  const uri = process.env.REDIS_URI;
  if (!uri) {
    // In CI a missing Redis is a broken pipeline, not a reason to skip.
    if (process.env.CI === 'true') assert.fail('REDIS_URI must be set when CI=true (start Redis and export REDIS_URI)');
    t.skip('REDIS_URI is not set: start Redis and run with REDIS_URI=redis://127.0.0.1:6379 to run this test');
    return;
  }
  const srv = await startServer({ REDIS_URI: uri });
  t.after(() => srv.stop());
  const res = await srv.request('/readyz');
  assert.equal(res.status, 200, res.body);
  assert.equal(res.json.checks.redis.ok, true);
});

test('readyz is 200 against the real MongoDB in MONGO_URI (optional)', { timeout: 20000 }, async (t) => {
  if (!process.env.MONGO_URI) {
    t.skip('MONGO_URI is not set: MongoDB readiness is covered by the fake-listener test below');
    return;
  }
  const srv = await startServer({ MONGO_URI: process.env.MONGO_URI });
  t.after(() => srv.stop());
  const res = await srv.request('/readyz');
  assert.equal(res.status, 200, res.body);
  assert.equal(res.json.checks.mongo.ok, true);
});

test('readyz is 503 when Redis is unreachable, without leaking credentials', { timeout: 20000 }, async (t) => {
  const port = await closedPort();
  const srv = await startServer({ REDIS_URI: `redis://:sup3rsecret@127.0.0.1:${port}` });
  t.after(() => srv.stop());
  const res = await srv.request('/readyz');
  assert.equal(res.status, 503);
  assert.equal(res.json.status, 'not_ready');
  assert.equal(res.json.checks.redis.ok, false);
  assert.match(res.json.checks.redis.error, /ECONNREFUSED/);
  assert.equal((await srv.request('/livez')).status, 200); // a dead dependency must not restart us
  await srv.stop();
  assert.ok(!res.body.includes('sup3rsecret'));
  assert.ok(!JSON.stringify(srv.logs).includes('sup3rsecret'));
});

test('readyz is 503 when a TCP peer never answers PING (timeout)', { timeout: 20000 }, async (t) => {
  const blackhole = await listen(() => {}); // accepts, never replies
  t.after(() => blackhole.close());
  const srv = await startServer({ REDIS_URI: `redis://127.0.0.1:${blackhole.port}`, DEP_CHECK_TIMEOUT_MS: '200' });
  t.after(() => srv.stop());
  const started = Date.now();
  const res = await srv.request('/readyz');
  assert.equal(res.status, 503);
  assert.match(res.json.checks.redis.error, /timeout/);
  assert.ok(Date.now() - started < 2000);
});

test('readyz checks MongoDB reachability by TCP connect', { timeout: 20000 }, async (t) => {
  const fakeMongo = await listen((s) => s.end());
  t.after(() => fakeMongo.close());
  const up = await startServer({ MONGO_URI: `mongodb://app:pw@127.0.0.1:${fakeMongo.port}/learinal?authSource=admin` });
  t.after(() => up.stop());
  const ok = await up.request('/readyz');
  assert.equal(ok.status, 200, ok.body);
  assert.equal(ok.json.checks.mongo.ok, true);

  const down = await startServer({ MONGO_URI: `mongodb://127.0.0.1:${await closedPort()}/learinal` });
  t.after(() => down.stop());
  const bad = await down.request('/readyz');
  assert.equal(bad.status, 503);
  assert.equal(bad.json.checks.mongo.ok, false);
});
