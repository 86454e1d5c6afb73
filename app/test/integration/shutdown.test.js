'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const http = require('node:http');
const { startServer, request, sleep } = require('./helpers');

test('SIGTERM drains: in-flight request completes, new connections refused, exit 0', { timeout: 20000 }, async (t) => {
  const srv = await startServer({ APP_LATENCY_MS: '1500' });
  t.after(() => srv.stop());

  const slow = srv.request('/api/items'); // held in the server for 1.5s
  await sleep(300);
  const signalledAt = Date.now();
  srv.proc.kill('SIGTERM');
  await sleep(200);

  await assert.rejects(request(srv.url('/health')), { code: 'ECONNREFUSED' });
  const res = await slow;
  assert.equal(res.status, 200);
  assert.equal(res.headers.connection, 'close');
  const { code } = await srv.exited;
  assert.equal(code, 0);
  assert.ok(Date.now() - signalledAt < 5000);
  assert.ok(srv.logs.some((l) => l.msg === 'shutdown complete'));
});

test('SHUTDOWN_DELAY_MS keeps serving with readyz=503 before closing', { timeout: 20000 }, async (t) => {
  const srv = await startServer({ SHUTDOWN_DELAY_MS: '1000' });
  t.after(() => srv.stop());
  assert.equal((await srv.request('/readyz')).status, 200);
  srv.proc.kill('SIGTERM');
  await sleep(200);

  const ready = await srv.request('/readyz');
  assert.equal(ready.status, 503);
  assert.equal(ready.json.checks.draining.ok, false);
  assert.equal((await srv.request('/livez')).status, 200); // draining is not dead
  assert.equal((await srv.request('/api/items')).status, 200);
  assert.equal((await srv.exited).code, 0);
});

test('idle keep-alive connections do not hold up shutdown', { timeout: 20000 }, async (t) => {
  const srv = await startServer();
  t.after(() => srv.stop());
  const agent = new http.Agent({ keepAlive: true });
  t.after(() => agent.destroy());
  assert.equal((await request(srv.url('/health'), { agent })).status, 200); // socket now idle in the pool

  const signalledAt = Date.now();
  srv.proc.kill('SIGTERM');
  assert.equal((await srv.exited).code, 0);
  assert.ok(Date.now() - signalledAt < 2000, 'should not wait for the keep-alive timeout');
});

test('SHUTDOWN_TIMEOUT_MS forces exit 1 when a request is stuck', { timeout: 20000 }, async (t) => {
  const srv = await startServer({ APP_LATENCY_MS: '10000', SHUTDOWN_TIMEOUT_MS: '300' });
  t.after(() => srv.stop());
  const stuck = srv.request('/api/items').catch((err) => err);
  await sleep(200);
  srv.proc.kill('SIGTERM');
  assert.equal((await srv.exited).code, 1);
  assert.ok((await stuck) instanceof Error); // connection dropped by the hard exit
  assert.ok(srv.logs.some((l) => l.msg === 'shutdown timed out; forcing exit'));
});
