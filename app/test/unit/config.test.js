'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { loadConfig, flag } = require('../../src/config');
const { createLogger } = require('../../src/logger');

test('defaults', () => {
  const c = loadConfig({});
  assert.equal(c.port, 3000);
  assert.equal(c.host, '0.0.0.0');
  assert.equal(c.version, 'dev');
  assert.equal(c.revision, 'unknown');
  assert.equal(c.nodeEnv, 'development');
  assert.equal(c.logLevel, 'info');
  assert.equal(c.failRate, 0);
  assert.equal(c.shutdownTimeoutMs, 10000);
  assert.equal(c.unhealthy, false);
  assert.equal(c.testSwitches, false);
});

test('reads switches from env', () => {
  const c = loadConfig({
    PORT: '8080',
    APP_VERSION: '2.0.0',
    GIT_SHA: 'deadbeef',
    NODE_ENV: 'production',
    LOG_LEVEL: 'WARN',
    APP_UNHEALTHY: 'true',
    APP_START_DELAY_MS: '500',
    APP_FAIL_RATE: '0.25',
    APP_LATENCY_MS: '20',
    APP_TEST_SWITCHES: '1',
  });
  assert.equal(c.port, 8080);
  assert.equal(c.version, '2.0.0');
  assert.equal(c.revision, 'deadbeef');
  assert.equal(c.logLevel, 'warn');
  assert.equal(c.unhealthy, true);
  assert.equal(c.startDelayMs, 500);
  assert.equal(c.failRate, 0.25);
  assert.equal(c.latencyMs, 20);
  assert.equal(c.testSwitches, true);
});

test('invalid values fail fast and name the variable, not the value', () => {
  const cases = {
    PORT: '70000',
    APP_FAIL_RATE: '1.5',
    APP_LATENCY_MS: '-1',
    LOG_LEVEL: 'loud',
    SHUTDOWN_TIMEOUT_MS: 'soon',
  };
  for (const [name, value] of Object.entries(cases)) {
    assert.throws(
      () => loadConfig({ [name]: value }),
      (err) => err.message.startsWith(`Invalid ${name}`) && !err.message.includes(value),
    );
  }
});

test('flag accepts the usual truthy spellings', () => {
  for (const v of ['1', 'true', 'TRUE', 'yes', 'on']) assert.equal(flag(v), true);
  for (const v of ['0', 'false', '', undefined, null]) assert.equal(flag(v), false);
});

test('logger writes one JSON line per entry and honours the level', () => {
  const lines = [];
  const logger = createLogger({ level: 'warn', stream: { write: (s) => lines.push(s) } });
  logger.debug('hidden');
  logger.info('hidden');
  logger.warn('shown', { a: 1 });
  logger.error('also shown');
  assert.equal(lines.length, 2);
  assert.ok(lines.every((l) => l.endsWith('\n')));
  const first = JSON.parse(lines[0]);
  assert.equal(first.level, 'warn');
  assert.equal(first.msg, 'shown');
  assert.equal(first.a, 1);
});
