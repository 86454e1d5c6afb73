'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { Metrics, BUCKETS, CONTENT_TYPE, escapeLabel, formatValue } = require('../../src/metrics');

test('content type is the Prometheus 0.0.4 text format', () => {
  assert.match(CONTENT_TYPE, /^text\/plain; version=0\.0\.4/);
});

test('default buckets run from 5ms to 10s', () => {
  assert.equal(BUCKETS[0], 0.005);
  assert.equal(BUCKETS.at(-1), 10);
});

test('counter is labelled by method and status, sorted and stable', () => {
  const m = new Metrics();
  m.observe('GET', 200, 0.001);
  m.observe('GET', 200, 0.002);
  m.observe('POST', 500, 0.002);
  const text = m.render();
  assert.match(text, /^# HELP http_requests_total /m);
  assert.match(text, /^# TYPE http_requests_total counter$/m);
  assert.match(text, /^http_requests_total\{method="GET",status="200"\} 2$/m);
  assert.match(text, /^http_requests_total\{method="POST",status="500"\} 1$/m);
  assert.ok(text.indexOf('method="GET"') < text.indexOf('method="POST"'));
});

test('unknown methods are folded into OTHER', () => {
  const m = new Metrics();
  m.observe('BREW', 405, 0.001);
  assert.match(m.render(), /http_requests_total\{method="OTHER",status="405"\} 1/);
});

test('histogram buckets are cumulative with +Inf, _sum and _count', () => {
  const m = new Metrics([0.1, 1]);
  m.observe('GET', 200, 0.05); // <= 0.1
  m.observe('GET', 200, 0.1); // le is inclusive
  m.observe('GET', 200, 0.5); // <= 1
  m.observe('GET', 200, 30); // only +Inf
  const text = m.render();
  assert.match(text, /^# TYPE http_request_duration_seconds histogram$/m);
  assert.match(text, /^http_request_duration_seconds_bucket\{le="0.1"\} 2$/m);
  assert.match(text, /^http_request_duration_seconds_bucket\{le="1"\} 3$/m);
  assert.match(text, /^http_request_duration_seconds_bucket\{le="\+Inf"\} 4$/m);
  assert.match(text, /^http_request_duration_seconds_sum 30.65$/m);
  assert.match(text, /^http_request_duration_seconds_count 4$/m);
});

test('empty registry still renders valid families and ends with a newline', () => {
  const text = new Metrics().render({ version: '1.0.0', revision: 'abc', uptimeSeconds: 1.5 });
  assert.ok(text.endsWith('\n'));
  assert.match(text, /^http_request_duration_seconds_count 0$/m);
  assert.match(text, /^app_info\{version="1.0.0",revision="abc"\} 1$/m);
  assert.match(text, /^app_uptime_seconds 1.5$/m);
});

test('label values are escaped', () => {
  assert.equal(escapeLabel('a"b\\c\nd'), 'a\\"b\\\\c\\nd');
  const text = new Metrics().render({ version: 'x"y' });
  assert.match(text, /app_info\{version="x\\"y"/);
});

test('special float values use Prometheus spelling', () => {
  assert.equal(formatValue(Infinity), '+Inf');
  assert.equal(formatValue(-Infinity), '-Inf');
  assert.equal(formatValue(NaN), 'NaN');
  assert.equal(formatValue(0.25), '0.25');
});
