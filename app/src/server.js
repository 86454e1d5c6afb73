'use strict';
// Entry point: wires config, state and the HTTP server, and implements
// graceful shutdown (SIGTERM/SIGINT) so rolling deploys drop no requests.

const http = require('node:http');
const { loadConfig } = require('./config');
const { createLogger } = require('./logger');
const { Metrics } = require('./metrics');
const { FailRate } = require('./faults');
const { buildDependencyChecks } = require('./deps');
const { createApp } = require('./app');
const { createUserStore, emailStep } = require('./users');

function createState(config, now = Date.now()) {
  return {
    startedAt: now,
    startDelayMs: config.startDelayMs,
    latencyMs: config.latencyMs,
    unhealthy: config.unhealthy,
    failRate: new FailRate(config.failRate),
    draining: false,
  };
}

function installShutdown(server, state, config, logger) {
  const shutdown = (signal) => {
    if (state.draining) return; // second signal: shutdown already under way
    state.draining = true; // /readyz now answers 503
    logger.info('shutdown started', { signal });

    // Hard deadline so a stuck request can't block a deploy forever.
    setTimeout(() => {
      logger.error('shutdown timed out; forcing exit', { timeoutMs: config.shutdownTimeoutMs });
      process.exit(1);
    }, config.shutdownTimeoutMs).unref();

    // Optional SHUTDOWN_DELAY_MS: keep accepting for a moment so load
    // balancers observe readyz=503 and stop routing before we close.
    setTimeout(() => {
      // Stop accepting; the callback runs once in-flight requests are done.
      server.close(() => {
        logger.info('shutdown complete');
        process.exit(0);
      });
      // Idle keep-alive sockets would otherwise hold close() open; busy ones
      // get "Connection: close" on their current response (see app.js).
      if (typeof server.closeIdleConnections === 'function') server.closeIdleConnections();
    }, config.shutdownDelayMs);
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

function start(env = process.env) {
  const config = loadConfig(env);
  const logger = createLogger({ level: config.logLevel });
  const state = createState(config);
  const metrics = new Metrics();
  const deps = buildDependencyChecks(config);
  const users = createUserStore({ mongoUri: config.mongoUri, step: emailStep(env) });
  const server = http.createServer(createApp({ config, state, metrics, logger, deps, users }));

  server.on('error', (err) => {
    logger.error('server error', { error: err.message, code: err.code });
    process.exit(1);
  });
  server.listen(config.port, config.host, () => {
    const { address, port } = server.address();
    logger.info('listening', { address, port, dependencies: deps.map((d) => d.name) });
  });
  installShutdown(server, state, config, logger);
  return { server, state, config };
}

if (require.main === module) {
  try {
    start();
  } catch (err) {
    // Config errors never include the offending value (see config.js).
    process.stdout.write(
      JSON.stringify({ time: new Date().toISOString(), level: 'error', msg: 'startup failed', error: err.message }) +
        '\n',
    );
    process.exit(1);
  }
}

module.exports = { start, createState };
