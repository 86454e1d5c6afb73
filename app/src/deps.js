'use strict';
// Dependency checks used by /readyz. Only node built-ins: Redis gets a real
// RESP PING (a bare TCP connect would also "succeed" against a wedged or
// password-protected server); Mongo gets a TCP connect, which is enough to
// tell "reachable" from "down" without a driver.

const net = require('node:net');
const tls = require('node:tls');
const dns = require('node:dns').promises;

function parsePort(text, fallback, what) {
  if (!text) return fallback;
  const port = Number(text);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`Invalid ${what}: bad port`);
  return port;
}

const unbracket = (host) => host.replace(/^\[(.*)\]$/, '$1');

// redis://[user][:password@]host[:port][/db], rediss:// for TLS.
function parseRedisUri(uri) {
  let u;
  try {
    u = new URL(uri);
  } catch {
    throw new Error('Invalid REDIS_URI: not a URL');
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') {
    throw new Error('Invalid REDIS_URI: scheme must be redis:// or rediss://');
  }
  if (!u.hostname) throw new Error('Invalid REDIS_URI: missing host');
  return {
    host: unbracket(u.hostname),
    port: parsePort(u.port, 6379, 'REDIS_URI'),
    tls: u.protocol === 'rediss:',
    username: u.username ? decodeURIComponent(u.username) : undefined,
    password: u.password ? decodeURIComponent(u.password) : undefined,
  };
}

// mongodb://[user:pass@]host1[:port1][,host2[:port2]...][/db][?opts] or
// mongodb+srv://host/... (hosts come from DNS SRV records). WHATWG URL can't
// parse the multi-host form, hence the hand-rolled parser.
function parseMongoUri(uri) {
  const m = /^(mongodb|mongodb\+srv):\/\/([^/?#]*)/.exec(uri || '');
  if (!m) throw new Error('Invalid MONGO_URI: expected mongodb:// or mongodb+srv://');
  const authority = m[2].slice(m[2].lastIndexOf('@') + 1); // drop credentials
  const hosts = authority
    .split(',')
    .filter(Boolean)
    .map((part) => {
      const hp = /^(?:\[([^\]]+)\]|([^:[\]]+))(?::(\d*))?$/.exec(part);
      if (!hp) throw new Error('Invalid MONGO_URI: bad host');
      return { host: hp[1] || decodeURIComponent(hp[2]), port: parsePort(hp[3], 27017, 'MONGO_URI') };
    });
  if (!hosts.length) throw new Error('Invalid MONGO_URI: missing host');
  const srv = m[1] === 'mongodb+srv';
  if (srv && hosts.length !== 1) throw new Error('Invalid MONGO_URI: mongodb+srv takes exactly one host');
  return { srv, hosts };
}

function encodeCommand(args) {
  return `*${args.length}\r\n` + args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('');
}

// Resolves when Redis answers +PONG (after AUTH if credentials are given).
function pingRedis(target, timeoutMs = 1000) {
  return new Promise((resolve, reject) => {
    const commands = [];
    if (target.password !== undefined) {
      commands.push(target.username ? ['AUTH', target.username, target.password] : ['AUTH', target.password]);
    }
    commands.push(['PING']);

    const opts = { host: target.host, port: target.port };
    const socket = target.tls
      ? tls.connect({ ...opts, servername: net.isIP(target.host) ? undefined : target.host })
      : net.connect(opts);
    let settled = false;
    let buffer = '';
    const finish = (err) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve();
    };
    const timer = setTimeout(() => finish(new Error(`timeout after ${timeoutMs}ms`)), timeoutMs);

    socket.once(target.tls ? 'secureConnect' : 'connect', () => socket.write(commands.map(encodeCommand).join('')));
    socket.on('data', (chunk) => {
      buffer += chunk.toString('utf8');
      const lines = buffer.split('\r\n');
      if (lines.length <= commands.length) return; // not every reply is complete yet
      const replies = lines.slice(0, commands.length);
      const error = replies.find((r) => r.startsWith('-'));
      if (error) return finish(new Error(`redis replied: ${error.slice(1, 200)}`));
      if (replies[replies.length - 1] !== '+PONG') return finish(new Error('unexpected reply to PING'));
      finish();
    });
    socket.on('error', (err) => finish(err));
    socket.on('close', () => finish(new Error('connection closed before PONG')));
  });
}

// Resolves once a TCP connection to host:port is established.
function tcpConnect({ host, port }, timeoutMs = 1000) {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`timeout after ${timeoutMs}ms`));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.destroy();
      resolve();
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

function withTimeout(promise, ms) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timeout after ${ms}ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// Ready if any member of the (replica set) seed list accepts connections.
async function checkMongo(target, timeoutMs = 1000) {
  let hosts = target.hosts;
  if (target.srv) {
    const records = await withTimeout(dns.resolveSrv(`_mongodb._tcp.${hosts[0].host}`), timeoutMs);
    hosts = records.map((r) => ({ host: r.name, port: r.port }));
  }
  try {
    await Promise.any(hosts.map((h) => tcpConnect(h, timeoutMs)));
  } catch (err) {
    throw err.errors ? err.errors[0] : err; // AggregateError -> first cause
  }
}

// Builds the list of dependency checks from config; unset URIs are skipped.
// Parsing here makes a malformed URI fail at startup rather than at probe time.
function buildDependencyChecks(config) {
  const checks = [];
  if (config.redisUri) {
    const target = parseRedisUri(config.redisUri);
    checks.push({ name: 'redis', run: () => pingRedis(target, config.depTimeoutMs) });
  }
  if (config.mongoUri) {
    const target = parseMongoUri(config.mongoUri);
    checks.push({ name: 'mongo', run: () => checkMongo(target, config.depTimeoutMs) });
  }
  return checks;
}

module.exports = {
  parseRedisUri,
  parseMongoUri,
  encodeCommand,
  pingRedis,
  tcpConnect,
  checkMongo,
  buildDependencyChecks,
};
