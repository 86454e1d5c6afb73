'use strict';
// Reads configuration from the environment once at startup. Bad values fail
// fast; error messages name the variable but never echo its value (it might
// be a secret).

const LOG_LEVELS = ['debug', 'info', 'warn', 'error'];

function int(env, name, def, min = 0, max = Number.MAX_SAFE_INTEGER) {
  const raw = env[name];
  if (raw === undefined || raw === '') return def;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new Error(`Invalid ${name}: expected an integer in [${min}, ${max}]`);
  }
  return n;
}

function rate(env, name) {
  const raw = env[name];
  if (raw === undefined || raw === '') return 0;
  const n = Number(raw);
  if (!(n >= 0 && n <= 1)) throw new Error(`Invalid ${name}: expected a number in [0, 1]`);
  return n;
}

function flag(value) {
  return ['1', 'true', 'yes', 'on'].includes(String(value ?? '').toLowerCase());
}

function loadConfig(env = process.env) {
  const logLevel = (env.LOG_LEVEL || 'info').toLowerCase();
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new Error(`Invalid LOG_LEVEL: expected one of ${LOG_LEVELS.join(', ')}`);
  }
  return {
    port: int(env, 'PORT', 3000, 0, 65535),
    host: env.HOST || '0.0.0.0',
    nodeEnv: env.NODE_ENV || 'development',
    version: env.APP_VERSION || 'dev',
    revision: env.GIT_SHA || 'unknown',
    logLevel,
    redisUri: env.REDIS_URI || '',
    mongoUri: env.MONGO_URI || '',
    depTimeoutMs: int(env, 'DEP_CHECK_TIMEOUT_MS', 1000, 1),
    unhealthy: flag(env.APP_UNHEALTHY),
    startDelayMs: int(env, 'APP_START_DELAY_MS', 0),
    failRate: rate(env, 'APP_FAIL_RATE'),
    latencyMs: int(env, 'APP_LATENCY_MS', 0),
    testSwitches: flag(env.APP_TEST_SWITCHES),
    shutdownTimeoutMs: int(env, 'SHUTDOWN_TIMEOUT_MS', 10000),
    shutdownDelayMs: int(env, 'SHUTDOWN_DELAY_MS', 0),
  };
}

module.exports = { loadConfig, flag, LOG_LEVELS };
