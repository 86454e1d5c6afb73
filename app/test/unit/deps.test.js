'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const net = require('node:net');
const {
  parseRedisUri,
  parseMongoUri,
  encodeCommand,
  pingRedis,
  tcpConnect,
  checkMongo,
  buildDependencyChecks,
} = require('../../src/deps');

// A loopback TCP server whose replies a test controls (stands in for Redis).
function fakeServer(onData) {
  return new Promise((resolve) => {
    const sockets = new Set();
    const srv = net.createServer((s) => {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('data', (d) => onData(s, d.toString()));
    });
    srv.listen(0, '127.0.0.1', () =>
      resolve({
        port: srv.address().port,
        close: () => new Promise((r) => (sockets.forEach((s) => s.destroy()), srv.close(r))),
      }),
    );
  });
}

test('parseRedisUri: host, port, TLS and credentials', () => {
  assert.deepEqual(parseRedisUri('redis://127.0.0.1'), {
    host: '127.0.0.1',
    port: 6379,
    tls: false,
    username: undefined,
    password: undefined,
  });
  assert.deepEqual(parseRedisUri('rediss://default:p%40ss@cache.internal:6380/2'), {
    host: 'cache.internal',
    port: 6380,
    tls: true,
    username: 'default',
    password: 'p@ss',
  });
  assert.equal(parseRedisUri('redis://[::1]:7000').host, '::1');
  assert.equal(parseRedisUri('redis://:onlypass@h').password, 'onlypass');
});

test('parseRedisUri: rejects bad input without echoing it', () => {
  for (const bad of ['not a url', 'http://h:1', 'redis://h:99999', 'redis://']) {
    assert.throws(
      () => parseRedisUri(bad),
      (err) => /^Invalid REDIS_URI/.test(err.message) && !err.message.includes(bad),
    );
  }
});

test('parseMongoUri: single host, seed lists, IPv6, srv and credentials', () => {
  assert.deepEqual(parseMongoUri('mongodb://user:pass@host:27018/learinal?authSource=admin'), {
    srv: false,
    hosts: [{ host: 'host', port: 27018 }],
  });
  assert.deepEqual(parseMongoUri('mongodb://a,b:27019,[::1]:27020/?replicaSet=rs0').hosts, [
    { host: 'a', port: 27017 },
    { host: 'b', port: 27019 },
    { host: '::1', port: 27020 },
  ]);
  assert.deepEqual(parseMongoUri('mongodb+srv://u:p@cluster0.example.net/db'), {
    srv: true,
    hosts: [{ host: 'cluster0.example.net', port: 27017 }],
  });
  assert.equal(parseMongoUri('mongodb://u:p%40ss@h').hosts[0].host, 'h');
});

test('parseMongoUri: rejects bad input', () => {
  for (const bad of ['', 'redis://h', 'mongodb://', 'mongodb://h:0', 'mongodb://h:x', 'mongodb+srv://a,b']) {
    assert.throws(() => parseMongoUri(bad), /^Error: Invalid MONGO_URI/);
  }
});

test('encodeCommand: RESP array of bulk strings', () => {
  assert.equal(encodeCommand(['PING']), '*1\r\n$4\r\nPING\r\n');
  assert.equal(encodeCommand(['AUTH', 'pä']), '*2\r\n$4\r\nAUTH\r\n$3\r\npä\r\n');
});

test('pingRedis: resolves on +PONG', async (t) => {
  let received = '';
  const srv = await fakeServer((s, d) => {
    received += d;
    s.write('+PONG\r\n');
  });
  t.after(() => srv.close());
  await pingRedis({ host: '127.0.0.1', port: srv.port }, 1000);
  assert.equal(received, '*1\r\n$4\r\nPING\r\n');
});

test('pingRedis: sends AUTH first and handles split replies', async (t) => {
  let received = '';
  const srv = await fakeServer((s, d) => {
    received += d;
    if (received.includes('PING')) {
      s.write('+OK\r\n+PO');
      setTimeout(() => s.write('NG\r\n'), 20);
    }
  });
  t.after(() => srv.close());
  await pingRedis({ host: '127.0.0.1', port: srv.port, username: 'app', password: 'pw' }, 1000);
  assert.ok(received.startsWith(encodeCommand(['AUTH', 'app', 'pw'])));
});

test('pingRedis: error replies, wrong replies, timeouts and refused connections fail', async (t) => {
  const noauth = await fakeServer((s) => s.write('-NOAUTH Authentication required.\r\n'));
  const wrong = await fakeServer((s) => s.write('+NOPE\r\n'));
  const silent = await fakeServer(() => {});
  const hangup = await fakeServer((s) => s.end());
  t.after(() => Promise.all([noauth, wrong, silent, hangup].map((s) => s.close())));
  const at = (srv) => ({ host: '127.0.0.1', port: srv.port });

  await assert.rejects(pingRedis(at(noauth), 1000), /redis replied: NOAUTH/);
  await assert.rejects(pingRedis(at(wrong), 1000), /unexpected reply/);
  await assert.rejects(pingRedis(at(silent), 100), /timeout after 100ms/);
  await assert.rejects(pingRedis(at(hangup), 1000), /closed before PONG/);
  const port = silent.port;
  await silent.close();
  await assert.rejects(pingRedis({ host: '127.0.0.1', port }, 1000), /ECONNREFUSED/);
});

test('tcpConnect and checkMongo: reachable vs refused', async (t) => {
  const srv = await fakeServer(() => {});
  const up = { host: '127.0.0.1', port: srv.port };
  await tcpConnect(up, 1000);
  await srv.close();
  await assert.rejects(tcpConnect(up, 1000), /ECONNREFUSED/);

  const live = await fakeServer(() => {});
  t.after(() => live.close());
  // One reachable seed is enough; all-down reports the first cause.
  await checkMongo({ srv: false, hosts: [up, { host: '127.0.0.1', port: live.port }] }, 1000);
  await assert.rejects(checkMongo({ srv: false, hosts: [up] }, 1000), /ECONNREFUSED/);
});

test('buildDependencyChecks: only configured URIs are checked', () => {
  assert.deepEqual(buildDependencyChecks({ redisUri: '', mongoUri: '' }), []);
  const names = buildDependencyChecks({ redisUri: 'redis://h', mongoUri: 'mongodb://h', depTimeoutMs: 5 }).map(
    (c) => c.name,
  );
  assert.deepEqual(names, ['redis', 'mongo']);
  assert.throws(() => buildDependencyChecks({ redisUri: 'nope', mongoUri: '' }), /Invalid REDIS_URI/);
});
