'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const { startServer } = require('./helpers');

function sample(text, name) {
  const line = text.split('\n').find((l) => l.startsWith(name + ' '));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

test('/metrics exposes request counter and latency histogram', { timeout: 20000 }, async (t) => {
  const srv = await startServer({ APP_VERSION: '9.9.9' });
  t.after(() => srv.stop());
  for (let i = 0; i < 3; i++) await srv.request('/api/items');
  await srv.request('/missing');
  await srv.request('/api/items', { method: 'POST', body: { name: 'x' } });

  const res = await srv.request('/metrics');
  assert.equal(res.status, 200);
  assert.match(res.headers['content-type'], /^text\/plain; version=0\.0\.4/);
  const text = res.body;

  assert.equal(sample(text, 'http_requests_total{method="GET",status="200"}'), 3);
  assert.equal(sample(text, 'http_requests_total{method="GET",status="404"}'), 1);
  assert.equal(sample(text, 'http_requests_total{method="POST",status="201"}'), 1);
  assert.match(text, /# TYPE http_request_duration_seconds histogram/);
  assert.equal(sample(text, 'http_request_duration_seconds_count'), 5);
  assert.equal(sample(text, 'http_request_duration_seconds_bucket{le="+Inf"}'), 5);
  assert.ok(sample(text, 'http_request_duration_seconds_bucket{le="0.005"}') <= 5);
  assert.ok(sample(text, 'http_request_duration_seconds_sum') > 0);
  assert.equal(sample(text, 'app_info{version="9.9.9",revision="unknown"}'), 1);

  // The scrape itself is counted once it has finished.
  const again = await srv.request('/metrics');
  assert.equal(sample(again.body, 'http_request_duration_seconds_count'), 6);
});

test('/metrics parses with the Python prometheus_client', { timeout: 20000 }, async (t) => {
  const probe = spawnSync('python3', ['-c', 'import prometheus_client'], { stdio: 'ignore' });
  if (probe.status !== 0) {
    t.skip('python3 with prometheus_client is not available');
    return;
  }
  const srv = await startServer();
  t.after(() => srv.stop());
  await srv.request('/api/items');
  const { body } = await srv.request('/metrics');
  const script = [
    'import sys, json',
    'from prometheus_client.parser import text_string_to_metric_families',
    'fams = {f.name: [f.type, len(f.samples)] for f in text_string_to_metric_families(sys.stdin.read())}',
    'print(json.dumps(fams))',
  ].join('\n');
  const out = spawnSync('python3', ['-c', script], { input: body, encoding: 'utf8' });
  assert.equal(out.status, 0, out.stderr);
  const families = JSON.parse(out.stdout);
  assert.equal(families.http_requests[0], 'counter');
  assert.equal(families.http_request_duration_seconds[0], 'histogram');
  assert.equal(families.http_request_duration_seconds[1], 12 + 2); // 12 buckets + _sum + _count
});
