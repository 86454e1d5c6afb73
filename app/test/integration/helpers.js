'use strict';
// Starts the real server as a child process on a random loopback port and
// offers a tiny HTTP client (agent-less, so no hidden keep-alive pools).

const { spawn } = require('node:child_process');
const http = require('node:http');
const net = require('node:net');
const path = require('node:path');

const SERVER = path.join(__dirname, '..', '..', 'src', 'server.js');

// The child sees only what a test asks for: REDIS_URI/MONGO_URI/LOG_LEVEL from
// the CI environment must not leak into tests that don't expect them.
function childEnv(overrides) {
  const env = { PATH: process.env.PATH, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info' };
  if (process.env.NODE_V8_COVERAGE) env.NODE_V8_COVERAGE = process.env.NODE_V8_COVERAGE; // c8
  return { ...env, ...overrides };
}

function startServer(overrides = {}, { timeoutMs = 10000 } = {}) {
  const proc = spawn(process.execPath, [SERVER], { env: childEnv(overrides), stdio: ['ignore', 'pipe', 'pipe'] });
  const logs = [];
  const badLines = []; // stdout lines that were not JSON (should stay empty)
  let stdout = ''; // unparsed tail of stdout
  let output = ''; // everything, for error messages
  let stderr = '';
  const exited = new Promise((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));

  const ready = new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`server did not start in ${timeoutMs}ms\n${output}${stderr}`)),
      timeoutMs,
    );
    proc.stdout.on('data', (chunk) => {
      output += chunk;
      stdout += chunk;
      const lines = stdout.split('\n');
      stdout = lines.pop();
      for (const line of lines) {
        let entry;
        try {
          entry = JSON.parse(line);
        } catch {
          badLines.push(line);
          continue;
        }
        logs.push(entry);
        if (entry.msg === 'listening') {
          clearTimeout(timer);
          resolve(entry.port);
        }
      }
    });
    proc.stderr.on('data', (chunk) => (stderr += chunk));
    exited.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`server exited early with code ${code}\n${output}${stderr}`));
    });
  });

  return ready.then((port) => ({
    port,
    proc,
    logs,
    badLines,
    exited,
    stderr: () => stderr,
    url: (p) => `http://127.0.0.1:${port}${p}`,
    request: (p, opts) => request(`http://127.0.0.1:${port}${p}`, opts),
    // SIGTERM (not SIGKILL) so the child exits cleanly and writes coverage.
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      return exited;
    },
  }));
}

function request(url, { method = 'GET', body, headers = {}, agent = false } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, agent }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (data += c));
      res.on('end', () => {
        let json;
        try {
          json = JSON.parse(data);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode, headers: res.headers, body: data, json });
      });
    });
    req.on('error', reject);
    if (body !== undefined) req.write(typeof body === 'string' ? body : JSON.stringify(body));
    req.end();
  });
}

// A loopback port with nothing listening on it.
function closedPort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

module.exports = { startServer, request, closedPort, sleep };
