"""The generic deploy flow end to end on the Compose target: real SSH hosts, real app.

Covers the deploy issue's done-when: a good version deploys with zero failed requests
and its metrics recorded; a version whose error rate climbs after the switch is rolled
back inside the watch window and the old release verified; the gates refuse a
production deploy of a version that never served on staging and a deploy from a
feature/* branch; Slack and Sentry requests reach local receivers with no secret.
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import threading
import urllib.request
from pathlib import Path

import pytest
from helpers import require
from support.fleet import Fleet, missing_components
from support.fleet import fleet as make_fleet

from shipwright.checks.prober import Prober
from shipwright.errors import ExitCode, ShipwrightError
from shipwright.flow import release as flow
from shipwright.flow.session import opened as deployment
from shipwright.ledger import Ledger, MemoryLedgerStore
from shipwright.runner import Runner
from shipwright.settings import load_settings
from shipwright.stages.results import StageResult, record, record_dir

pytestmark = pytest.mark.integration
SHA = "0123456789abcdef"
SECRET = "flow-canary-secret-0123456789abcdef"


@pytest.fixture(scope="module")
def fleet():
    missing = missing_components()
    require(not missing, f"real SSH hosts need: {', '.join(missing)}")
    import docker

    with make_fleet(2) as built:
        client = docker.from_env(timeout=300)
        repo = built.images["v1"].split(":v1@")[0]
        text = f"FROM {repo}:v1\nENV APP_TEST_SWITCHES=1\n".encode()
        client.images.build(fileobj=io.BytesIO(text), tag=f"{repo}:flaky", rm=True)
        for line in client.images.push(repo, tag="flaky", stream=True, decode=True):
            assert "error" not in line, line
        digest = next(
            d
            for d in client.api.inspect_image(f"{repo}:flaky")["RepoDigests"]
            if d.startswith(repo + "@")
        ).split("@", 1)[1]
        built.images["flaky"] = f"{repo}:flaky@{digest}"
        client.close()
        for stage in ("lint", "test.unit", "test.coverage", "audit"):
            passed = StageResult(stage)
            passed.add("npm audit" if stage == "audit" else "recorded by the test", True)
            record(passed, SHA)
        yield built
        shutil.rmtree(record_dir() / SHA, ignore_errors=True)


def flow_settings(fleet: Fleet, environment: str = "test", **extra: str):
    host = fleet.hosts.hosts[0]
    overrides = fleet.overrides(
        APP_URL=f"http://{host.address}:8080",
        WATCH_SECONDS="8",
        WATCH_INTERVAL="1",
        WATCH_MIN_REQUESTS="10",
        HEALTH_DEADLINE="15",
        SLACK_WEBHOOK_URL=extra.pop("SLACK_WEBHOOK_URL", ""),
        JWT_SECRET=SECRET,
        **extra,
    )
    return load_settings(
        environment, overrides=overrides, environ={}, validate=environment == "test"
    )


@contextlib.contextmanager
def traffic(url: str, rate: float = 25, limit_seconds: float = 90):
    """Bounded user traffic, so the watch window has requests to judge."""
    stop = threading.Event()
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def send():
        for _ in range(int(rate * limit_seconds)):
            if stop.is_set():
                return
            with contextlib.suppress(OSError):
                opener.open(url + "/api/items", timeout=2).read()
            stop.wait(1 / rate)

    thread = threading.Thread(target=send, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)


@contextlib.contextmanager
def receiver():
    """A local Slack/Sentry stand-in that records every request."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    got: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
            got.append({"path": self.path, "body": body})
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook", got
    finally:
        server.shutdown()
        server.server_close()


def run(settings, release, **opts):
    with deployment(settings, Runner()) as dep:
        return flow.deploy(dep, release, flow.Options(reason="test", **opts))


def test_good_version_deploys_with_zero_failed_requests_and_metrics(fleet: Fleet, capfd):
    fleet.ensure("v1")
    with receiver() as (hook, got):
        settings = flow_settings(fleet, SLACK_WEBHOOK_URL=hook)
        with fleet.prober() as prober, traffic(settings["APP_URL"]):
            result = run(settings, fleet.release("v2"))
    assert result.exit_code == ExitCode.OK
    assert prober.failed == 0, prober.summary()
    assert set(fleet.serving().values()) == {"v2"}
    entry = fleet.history()[0]
    assert (entry.action, entry.result) == ("deploy", "succeeded")
    assert entry.metrics["downtime_seconds"] == 0 and entry.metrics["failed_requests"] == 0
    assert entry.metrics["deployment_seconds"] > 0
    assert entry.metrics["watch"]["verdict"] in ("pass", "warn")
    texts = [json.loads(r["body"])["text"] for r in got]
    assert any("started" in t.lower() for t in texts) and any(
        "succeeded" in t.lower() for t in texts
    )
    out = capfd.readouterr()
    assert "Deployment Time" in out.out or "Deployment time" in out.out
    assert SECRET not in out.out + out.err + json.dumps(got)


def test_error_rate_climbing_after_switch_rolls_back_automatically(fleet: Fleet):
    """The new version passes verification, then half its requests fail during the watch."""
    fleet.ensure("v2")
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def degrade(sample):
        for host in fleet.hosts.hosts:  # every host's new container starts failing
            url = f"http://{host.address}:8080/__test/fail-rate?value=0.5"
            opener.open(urllib.request.Request(url, method="POST"), timeout=2).read()

    with receiver() as (hook, got):
        settings = flow_settings(fleet, SLACK_WEBHOOK_URL=hook)
        with traffic(settings["APP_URL"]):
            result = run(settings, fleet.release("flaky"), on_sample=degrade)
    assert result.exit_code == ExitCode.RESTORED
    assert result.watch is not None and result.watch.rollback
    assert set(fleet.serving().values()) == {"v2"}
    entry = fleet.history()[0]
    assert (entry.action, entry.result) == ("deploy", "rolled_back")
    assert any("previous release v2 verified" in c.name and c.ok for c in result.checks)
    assert result.postmortem and Path(result.postmortem).is_file()
    texts = [json.loads(r["body"])["text"].lower() for r in got]
    assert any("rolled back" in t or "rolled_back" in t for t in texts), texts
    assert fleet.lock() is None


def test_gates_refuse_feature_branch_and_unsoaked_production(fleet: Fleet):
    fleet.ensure("v2")
    staging = flow_settings(fleet, "staging")
    with pytest.raises(ShipwrightError, match="preflight refused"):
        run(staging, fleet.release("v1"), branch="feature/login")

    production = flow_settings(fleet, "production")
    with deployment(production, Runner()) as dep:
        dep.staging_ledger = Ledger(MemoryLedgerStore(), "staging")  # never served there
        with pytest.raises(ShipwrightError, match="preflight refused") as err:
            flow.deploy(dep, fleet.release("v1"), flow.Options(branch="main"))
    assert "staging soak" in str(err.value)
    assert set(fleet.serving().values()) == {"v2"}  # nothing changed


@contextlib.contextmanager
def staging_services(address: str):
    """A real Redis and a TCP listener standing in for MongoDB (the app's readiness only
    connects to it; no MongoDB server can run here), on the sandbox's root-side address
    so the hosts reach them the way staging reaches its managed databases."""
    import socket
    import subprocess
    import tempfile

    from support.sandbox import free_port
    from support.sandbox._proc import tcp_answers, wait_until

    redis_port = free_port()
    mongo = socket.create_server((address, 0))
    mongo.settimeout(0.5)
    stop = threading.Event()

    def accept():
        while not stop.is_set():
            with contextlib.suppress(OSError):
                conn, _ = mongo.accept()
                conn.close()

    threading.Thread(target=accept, daemon=True).start()
    with tempfile.TemporaryDirectory() as work:
        redis = subprocess.Popen(
            [
                "redis-server",
                "--bind",
                address,
                "--port",
                str(redis_port),
                "--save",
                "",
                "--dir",
                work,
                "--requirepass",
                SECRET,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_until(lambda: tcp_answers(address, redis_port), timeout=10, what="redis")
            yield {
                "REDIS_URI": f"redis://:{SECRET}@{address}:{redis_port}",
                "MONGO_URI": f"mongodb://app:{SECRET}@{address}:{mongo.getsockname()[1]}/learinal",
            }
        finally:
            stop.set()
            redis.terminate()
            redis.wait(timeout=10)
            mongo.close()


def test_cli_deploy_to_staging_on_the_compose_hosts(fleet: Fleet):
    """`invoke deploy --env staging` as the README shows it, against the test hosts."""
    from helpers import invoke

    from shipwright.image import record

    versions = []
    for version in ("v1", "v2"):
        repo, _, rest = fleet.images[version].partition(f":{version}@")
        rec = record.ImageRecord(
            version=f"flowcli-{version}",
            repository=repo,
            tags=[version],
            git_sha=SHA,
            branch="develop",
            created="2026-01-01T00:00:00Z",
            digest=rest,
            pushed="2026-01-01T00:00:00Z",
        )
        versions.append(record.save(rec))
    address = fleet.hosts.registry_addr.split(":")[0]
    host = fleet.hosts.hosts[0]
    flags = {
        **fleet.overrides(),
        "PORT": "3300",
        "DEPLOY_PROXY_PORT": "8090",
        "APP_URL": f"http://{host.address}:8090",
        "WATCH_SECONDS": "4",
        "WATCH_INTERVAL": "1",
        "MONGO_URI": None,
        "REDIS_URI": None,
    }
    sets = [f"--set={k}={v}" for k, v in flags.items() if v is not None]
    try:
        with staging_services(address) as services:
            secrets = {
                **services,
                "JWT_SECRET": SECRET,
                "JWT_REFRESH_SECRET": SECRET,
                "STRIPE_SECRET_KEY": f"sk_test_{SECRET}",
                "STRIPE_WEBHOOK_SECRET": f"whsec_{SECRET}",
            }
            for version in ("flowcli-v1", "flowcli-v2"):
                result = invoke(
                    "deploy",
                    "--env",
                    "staging",
                    "--version",
                    version,
                    "--override-branch",
                    *sets,
                    env=secrets,
                )
                assert result.code == 0, result.output
                assert SECRET not in result.output
            assert "OVERRIDDEN" in result.stdout and "Deployment Time" in result.stdout
            history = invoke("history", "--env", "staging", "--json", *sets, env=secrets)
            assert history.code == 0, history.output
            assert "flowcli-v2" in history.stdout and SECRET not in history.output
            urls = {h.name: f"http://{h.address}:8090/version" for h in fleet.hosts.hosts}
            with Prober(urls, rate=40) as prober:  # users of every host, through its nginx
                back = invoke("rollback", "--env", "staging", *sets, env=secrets)
            assert back.code == 0, back.output
            assert "flowcli-v1" in back.stdout and SECRET not in back.output
            assert prober.failed == 0 and prober.total > 0, prober.summary()
            rolled = json.loads(
                invoke("history", "--env", "staging", "--json", *sets, env=secrets).stdout
            )["entries"][0]
            assert (rolled["action"], rolled["result"]) == ("rollback", "succeeded")
            assert rolled["metrics"]["rollback_seconds"] > 0
            assert rolled["metrics"]["failed_requests"] == 0

            # Production's soak gate reads staging's real ledger (on the hosts): staging's
            # settings come from the process environment, as in a CI job.
            staging_env = {**secrets, **{k: v for k, v in flags.items() if v is not None}}
            live = {
                "NODE_ENV": "production",
                "LOG_LEVEL": "warn",
                "STRIPE_SECRET_KEY": f"sk_live_{SECRET}",
                "SENTRY_DSN": f"https://{SECRET}@127.0.0.1:9/1",
                "STAGING_SOAK_HOURS": "24",
            }
            production = invoke(
                "deploy",
                "--env",
                "production",
                "--version",
                "flowcli-v1",
                "--dry-run",
                *sets,
                *[f"--set={k}={v}" for k, v in live.items()],
                env=staging_env,
            )
            soak = next(line for line in production.stdout.splitlines() if "staging soak" in line)
            assert soak.startswith("✘") and "flowcli-v1 served on staging" in soak, soak
            assert "needs 24 h" in soak and SECRET not in production.output
            before = invoke("status", "--env", "staging", "--json", *sets, env=secrets)
            plan = invoke(
                "deploy",
                "--env",
                "staging",
                "--version",
                "flowcli-v2",
                "--override-branch",
                "--dry-run",
                *sets,
                env=secrets,
            )
            assert plan.code == 0, plan.output
            assert "✔ CI passed" in plan.stdout and "would " in plan.stdout  # gates, then plan
            after = invoke("status", "--env", "staging", "--json", *sets, env=secrets)
            assert json.loads(after.stdout) == json.loads(before.stdout)  # nothing changed
    finally:
        for path in versions:
            path.unlink(missing_ok=True)
