'use strict';
// Readiness = local state (started, not draining, not forced unhealthy) plus
// every configured dependency. aggregate() is pure so it is easy to unit test.

function aggregate(checks) {
  const ready = checks.every((c) => c.ok);
  const byName = {};
  for (const { name, ...result } of checks) byName[name] = result;
  return { statusCode: ready ? 200 : 503, body: { status: ready ? 'ready' : 'not_ready', checks: byName } };
}

function localChecks(state, now = Date.now()) {
  const remaining = state.startedAt + state.startDelayMs - now;
  return [
    remaining > 0
      ? { name: 'startup', ok: false, detail: `starting, ${remaining}ms left` }
      : { name: 'startup', ok: true },
    state.draining ? { name: 'draining', ok: false, detail: 'shutting down' } : { name: 'draining', ok: true },
    state.unhealthy ? { name: 'healthy', ok: false, detail: 'forced unhealthy' } : { name: 'healthy', ok: true },
  ];
}

// Runs dependency checks concurrently; a throwing check becomes ok:false with
// its error message (never the URI, which may contain credentials).
async function runDependencyChecks(deps) {
  return Promise.all(
    deps.map(async ({ name, run }) => {
      const started = Date.now();
      try {
        await run();
        return { name, ok: true, latencyMs: Date.now() - started };
      } catch (err) {
        return { name, ok: false, latencyMs: Date.now() - started, error: err.message || String(err) };
      }
    }),
  );
}

async function checkReadiness(state, deps, now = Date.now()) {
  return aggregate([...localChecks(state, now), ...(await runDependencyChecks(deps))]);
}

module.exports = { aggregate, localChecks, runDependencyChecks, checkReadiness };
