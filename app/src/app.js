'use strict';
// Request handling: probes, metrics, version, a tiny in-memory items API and
// env/runtime test switches used by the pipeline's smoke/canary tests.

const crypto = require('node:crypto');
const { CONTENT_TYPE: METRICS_TYPE } = require('./metrics');
const { checkReadiness } = require('./readiness');
const { flag } = require('./config');

// Probe/ops endpoints are exempt from injected latency and failures so that
// orchestration keeps working while the app "misbehaves".
const EXEMPT = new Set(['/health', '/livez', '/readyz', '/metrics', '/version']);
const MAX_BODY = 16 * 1024;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function readJson(req) {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks = [];
    req.on('data', (c) => {
      size += c.length;
      if (size > MAX_BODY) reject(Object.assign(new Error('body too large'), { status: 413 }));
      else chunks.push(c);
    });
    req.on('end', () => {
      try {
        resolve(chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : {});
      } catch {
        reject(Object.assign(new Error('invalid JSON'), { status: 400 }));
      }
    });
    req.on('error', reject);
  });
}

function levelFor(status) {
  if (status >= 500) return 'error';
  return status >= 400 ? 'warn' : 'info';
}

function createApp({ config, state, metrics, logger, deps = [], users = null }) {
  const items = [
    { id: 1, name: 'alpha' },
    { id: 2, name: 'beta' },
  ];
  let nextId = 3;

  const uptime = () => (Date.now() - state.startedAt) / 1000;

  function send(res, status, body, type = 'application/json; charset=utf-8') {
    const payload = typeof body === 'string' ? body : JSON.stringify(body);
    // While draining, close keep-alive connections after this response.
    if (state.draining) res.setHeader('Connection', 'close');
    res.writeHead(status, {
      'Content-Type': type,
      'Content-Length': Buffer.byteLength(payload),
      'Cache-Control': 'no-store',
    });
    res.end(payload);
  }

  function notAllowed(res, allow) {
    res.setHeader('Allow', allow);
    send(res, 405, { error: 'method not allowed' });
  }

  // Runtime toggles; 404 unless APP_TEST_SWITCHES=1 so they can't be hit in prod.
  function testSwitch(req, res, path, query) {
    if (!config.testSwitches || (path !== '/__test/fail-rate' && path !== '/__test/unhealthy')) {
      return send(res, 404, { error: 'not found' });
    }
    if (req.method !== 'POST') return notAllowed(res, 'POST');
    const value = query.get('value');
    if (path === '/__test/unhealthy') {
      state.unhealthy = flag(value);
      return send(res, 200, { unhealthy: state.unhealthy });
    }
    const rate = Number(value);
    if (value === null || value === '' || !(rate >= 0 && rate <= 1)) {
      return send(res, 400, { error: 'value must be a number in [0, 1]' });
    }
    state.failRate.set(rate);
    return send(res, 200, { failRate: rate });
  }

  // Users live in MongoDB (src/users.js); 503 when the app runs without it.
  async function userRoute(req, res, path, isRead) {
    if (!users || !users.enabled) return send(res, 503, { error: 'users need MONGO_URI' });
    if (path === '/api/users') {
      if (req.method !== 'POST') return notAllowed(res, 'POST');
      const body = await readJson(req);
      return send(res, 201, await users.create(body.email));
    }
    if (!isRead) return notAllowed(res, 'GET, HEAD');
    const user = await users.get(path.slice('/api/users/'.length));
    return user ? send(res, 200, user) : send(res, 404, { error: 'user not found' });
  }

  async function route(req, res, path, query) {
    const isRead = req.method === 'GET' || req.method === 'HEAD';

    if (path.startsWith('/__test/')) return testSwitch(req, res, path, query);

    if (EXEMPT.has(path)) {
      if (!isRead) return notAllowed(res, 'GET, HEAD');
      switch (path) {
        case '/health':
          return send(res, state.unhealthy ? 503 : 200, {
            status: state.unhealthy ? 'unhealthy' : 'ok',
            version: config.version,
            uptime: uptime(),
          });
        case '/livez':
          return send(res, state.unhealthy ? 503 : 200, { status: state.unhealthy ? 'unhealthy' : 'alive' });
        case '/readyz': {
          const { statusCode, body } = await checkReadiness(state, deps);
          return send(res, statusCode, body);
        }
        case '/metrics':
          return send(
            res,
            200,
            metrics.render({ version: config.version, revision: config.revision, uptimeSeconds: uptime() }),
            METRICS_TYPE,
          );
        case '/version':
          return send(res, 200, { version: config.version, revision: config.revision, environment: config.nodeEnv });
      }
    }

    // Application routes: subject to injected latency and failures.
    if (state.latencyMs > 0) await sleep(state.latencyMs);
    if (state.failRate.shouldFail()) return send(res, 500, { error: 'injected failure' });

    if (path === '/') {
      if (!isRead) return notAllowed(res, 'GET, HEAD');
      return send(res, 200, { name: 'shipwright-sample-app', version: config.version, status: 'ok' });
    }
    if (path === '/api/items') {
      if (isRead) return send(res, 200, { items });
      if (req.method !== 'POST') return notAllowed(res, 'GET, HEAD, POST');
      const body = await readJson(req);
      if (typeof body.name !== 'string' || !body.name.trim() || body.name.length > 100) {
        return send(res, 400, { error: 'name must be a non-empty string (max 100 chars)' });
      }
      const item = { id: nextId++, name: body.name.trim() };
      items.push(item);
      return send(res, 201, item);
    }
    if (path === '/api/users' || path.startsWith('/api/users/')) return userRoute(req, res, path, isRead);
    const match = /^\/api\/items\/(\d+)$/.exec(path);
    if (match) {
      if (!isRead) return notAllowed(res, 'GET, HEAD');
      const item = items.find((i) => i.id === Number(match[1]));
      return item ? send(res, 200, item) : send(res, 404, { error: 'item not found' });
    }
    return send(res, 404, { error: 'not found' });
  }

  return async function handler(req, res) {
    const started = process.hrtime.bigint();
    const q = req.url.indexOf('?');
    // Log/route on the path only: query strings may carry tokens.
    const path = q === -1 ? req.url : req.url.slice(0, q);
    const query = new URLSearchParams(q === -1 ? '' : req.url.slice(q + 1));
    const requestId = /^[\w.-]{1,128}$/.test(req.headers['x-request-id'] || '')
      ? req.headers['x-request-id']
      : crypto.randomUUID();
    res.setHeader('X-Request-Id', requestId);

    // 'close' fires for finished and aborted responses alike.
    res.once('close', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const status = res.writableFinished ? res.statusCode : 499; // 499: client went away
      metrics.observe(req.method, status, seconds);
      logger.log(levelFor(status), 'request', {
        method: req.method,
        path,
        status,
        durationMs: Math.round(seconds * 1e4) / 10,
        requestId,
      });
    });

    try {
      await route(req, res, path, query);
    } catch (err) {
      const status = err.status || 500;
      if (status === 500) logger.error('unhandled error', { path, requestId, error: err.message });
      if (!res.headersSent) send(res, status, { error: status === 500 ? 'internal error' : err.message });
      else res.destroy();
    }
  };
}

module.exports = { createApp, EXEMPT };
