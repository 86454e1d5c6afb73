'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { startServer, sleep } = require('./helpers');

test('core endpoints', { timeout: 20000 }, async (t) => {
  const srv = await startServer({ APP_VERSION: '1.2.3', GIT_SHA: 'abc123', NODE_ENV: 'test' });
  t.after(() => srv.stop());

  const health = await srv.request('/health');
  assert.equal(health.status, 200);
  assert.equal(health.json.status, 'ok');
  assert.equal(health.json.version, '1.2.3');
  assert.equal(typeof health.json.uptime, 'number');

  assert.equal((await srv.request('/livez')).status, 200);

  const ready = await srv.request('/readyz');
  assert.equal(ready.status, 200);
  assert.equal(ready.json.status, 'ready');
  assert.deepEqual(Object.keys(ready.json.checks).sort(), ['draining', 'healthy', 'startup']);

  const version = await srv.request('/version');
  assert.deepEqual(version.json, { version: '1.2.3', revision: 'abc123', environment: 'test' });

  const root = await srv.request('/');
  assert.equal(root.status, 200);
  assert.equal(root.json.status, 'ok');

  const items = await srv.request('/api/items');
  assert.equal(items.status, 200);
  assert.ok(Array.isArray(items.json.items));
  assert.match(items.headers['content-type'], /^application\/json/);

  const created = await srv.request('/api/items', { method: 'POST', body: { name: 'gamma' } });
  assert.equal(created.status, 201);
  assert.equal((await srv.request(`/api/items/${created.json.id}`)).json.name, 'gamma');
  assert.equal((await srv.request('/api/items/999')).status, 404);
  assert.equal((await srv.request('/api/items', { method: 'POST', body: '{nope' })).status, 400);
  assert.equal((await srv.request('/api/items', { method: 'POST', body: { name: '' } })).status, 400);
  assert.equal((await srv.request('/api/items', { method: 'DELETE' })).status, 405);
  assert.equal((await srv.request('/health', { method: 'POST' })).status, 405);
  assert.equal((await srv.request('/nope')).status, 404);
  assert.equal((await srv.request('/__test/unhealthy?value=1', { method: 'POST' })).status, 404);

  const traced = await srv.request('/api/items', { headers: { 'x-request-id': 'req-42' } });
  assert.equal(traced.headers['x-request-id'], 'req-42');

  // One JSON line per request; the query string (may hold tokens) is not logged.
  await srv.request('/api/items?token=hunter2');
  await sleep(50);
  assert.deepEqual(srv.badLines, []);
  const requestLogs = srv.logs.filter((l) => l.msg === 'request');
  assert.ok(requestLogs.length >= 15);
  assert.ok(requestLogs.some((l) => l.requestId === 'req-42' && l.status === 200 && l.path === '/api/items'));
  assert.ok(!JSON.stringify(srv.logs).includes('hunter2'));
});

test('APP_UNHEALTHY=1 fails health, livez and readyz only', { timeout: 20000 }, async (t) => {
  const srv = await startServer({ APP_UNHEALTHY: '1' });
  t.after(() => srv.stop());
  const health = await srv.request('/health');
  assert.equal(health.status, 503);
  assert.equal(health.json.status, 'unhealthy');
  assert.equal((await srv.request('/livez')).status, 503);
  const ready = await srv.request('/readyz');
  assert.equal(ready.status, 503);
  assert.equal(ready.json.checks.healthy.ok, false);
  assert.equal((await srv.request('/api/items')).status, 200);
});

test('APP_START_DELAY_MS keeps readyz at 503 while starting', { timeout: 20000 }, async (t) => {
  const srv = await startServer({ APP_START_DELAY_MS: '1000' });
  t.after(() => srv.stop());
  const early = await srv.request('/readyz');
  assert.equal(early.status, 503);
  assert.equal(early.json.checks.startup.ok, false);
  assert.equal((await srv.request('/livez')).status, 200); // alive, just not ready
  await sleep(1100);
  assert.equal((await srv.request('/readyz')).status, 200);
});

test('APP_FAIL_RATE fails an exact, evenly spread share of app requests', { timeout: 20000 }, async (t) => {
  const srv = await startServer({ APP_FAIL_RATE: '0.5' });
  t.after(() => srv.stop());
  const statuses = [];
  for (let i = 0; i < 10; i++) statuses.push((await srv.request('/api/items')).status);
  assert.deepEqual(statuses, [200, 500, 200, 500, 200, 500, 200, 500, 200, 500]);
  for (let i = 0; i < 4; i++) assert.equal((await srv.request('/health')).status, 200); // probes exempt
});

test('APP_LATENCY_MS delays app endpoints but not probes', { timeout: 20000 }, async (t) => {
  const srv = await startServer({ APP_LATENCY_MS: '300' });
  t.after(() => srv.stop());
  let started = Date.now();
  await srv.request('/api/items');
  assert.ok(Date.now() - started >= 290);
  started = Date.now();
  await srv.request('/health');
  assert.ok(Date.now() - started < 250);
});

test('runtime test switches work only with APP_TEST_SWITCHES=1', { timeout: 20000 }, async (t) => {
  const srv = await startServer({ APP_TEST_SWITCHES: '1' });
  t.after(() => srv.stop());

  assert.equal((await srv.request('/__test/fail-rate?value=2', { method: 'POST' })).status, 400);
  assert.equal((await srv.request('/__test/fail-rate?value=1', { method: 'GET' })).status, 405);
  const set = await srv.request('/__test/fail-rate?value=1', { method: 'POST' });
  assert.deepEqual(set.json, { failRate: 1 });
  assert.equal((await srv.request('/')).status, 500);
  await srv.request('/__test/fail-rate?value=0', { method: 'POST' });
  assert.equal((await srv.request('/')).status, 200);

  await srv.request('/__test/unhealthy?value=1', { method: 'POST' });
  assert.equal((await srv.request('/health')).status, 503);
  assert.equal((await srv.request('/readyz')).status, 503);
  await srv.request('/__test/unhealthy?value=0', { method: 'POST' });
  assert.equal((await srv.request('/health')).status, 200);
});

test('invalid configuration fails fast without echoing the value', { timeout: 20000 }, async () => {
  await assert.rejects(startServer({ REDIS_URI: 'http://user:s3cret@example.invalid' }), (err) => {
    assert.match(err.message, /exited early with code 1/);
    assert.match(err.message, /Invalid REDIS_URI/);
    assert.ok(!err.message.includes('s3cret'));
    return true;
  });
  await assert.rejects(startServer({ APP_FAIL_RATE: '7' }), /Invalid APP_FAIL_RATE/);
});
