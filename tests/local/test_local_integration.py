"""The local default end to end on the real engine: prepare, build + push, then the
generic deploy flow against the local target -- upgrade, rollback, a release that
never gets healthy.

MONGO_URI is set empty: development's MONGO_URI points at a MongoDB on 127.0.0.1 that
cannot run on this machine (no server, no image), and the backend's /readyz would wait
for it. Each run uses its own APP_NAME (so its own compose project and repository on
the local registry), free loopback ports, and a temporary folder for lock and ledger.
"""

from __future__ import annotations

import contextlib
import io
import json
import secrets
import shutil
import urllib.request
from pathlib import Path

import pytest
from helpers import require
from support.sandbox import _proc

from shipwright import PROJECT_ROOT
from shipwright.domain import Release
from shipwright.errors import ExitCode
from shipwright.flow import release as flow
from shipwright.flow.session import opened
from shipwright.image import build as builder
from shipwright.image import push as pusher
from shipwright.image.tags import GitInfo
from shipwright.runner import Runner
from shipwright.settings import load_settings
from shipwright.targets.local_compose import session

pytestmark = pytest.mark.integration
RUN = secrets.token_hex(3)
APP = f"swlocal{RUN}"
SECRET = "local-target-secret-" + secrets.token_hex(12)
_LOCAL = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@pytest.fixture(scope="module")
def overrides():
    """What ``invoke local.prepare`` returns: the engine, registry and images are ready."""
    from shipwright import localdefault

    try:
        return localdefault.prepare(
            load_settings("development", environ={}), Runner(), persist=False
        )
    except Exception as exc:  # noqa: BLE001 - no engine, no registry binary, no redis …
        require(False, f"the local default cannot be prepared here: {exc}")


@pytest.fixture(scope="module")
def client(overrides):
    import docker

    client = docker.from_env(timeout=600)
    yield client
    client.close()


def test_prepare_is_idempotent(overrides, client):
    from shipwright import localdefault

    images = {key: client.images.get(overrides[key]).id for key in ("BASE_IMAGE", "REDIS_IMAGE")}
    again = localdefault.prepare(load_settings("development", environ={}), Runner(), persist=False)
    assert again == overrides
    assert {k: client.images.get(again[k]).id for k in images} == images  # nothing rebuilt
    assert _proc.http_status("http://127.0.0.1:5000/v2/") == 200
    if overrides["REDIS_IMAGE"] != "redis:7-alpine":  # built here: it must really run Redis
        out = client.containers.run(
            overrides["REDIS_IMAGE"], ["redis-cli", "--version"], remove=True
        )
        assert out.startswith(b"redis-cli ")


@pytest.fixture(scope="module")
def ports():
    redis = _proc.free_port()
    return {"PORT": str(_proc.free_ports(3, besides=redis)), "REDIS_PORT": str(redis)}


@pytest.fixture(scope="module")
def state_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("local-state")


@pytest.fixture(scope="module")
def values(overrides, ports, state_dir):
    """The settings that point development at this module's stack (as ``--set`` too)."""
    return {
        "SHIPWRIGHT_STATE_DIR": str(state_dir),
        **overrides,
        "APP_NAME": APP,  # IMAGE_REPOSITORY=127.0.0.1:5000/${APP_NAME} in .env.development
        **ports,
        "REDIS_URI": f"redis://127.0.0.1:{ports['REDIS_PORT']}",
        "MONGO_URI": "",  # no MongoDB can run here (see the module docstring)
        "APP_URL": f"http://127.0.0.1:{ports['PORT']}",
        "WATCH_SECONDS": "3",
        "WATCH_INTERVAL": "1",
        "HEALTHCHECK_INTERVAL": "1s",
        "DEPLOY_READY_TIMEOUT": "20",
        "HEALTH_DEADLINE": "15",
        "JWT_SECRET": SECRET,
    }


@pytest.fixture(scope="module")
def settings(values):
    return load_settings("development", overrides=values, environ={})


@pytest.fixture(scope="module")
def releases(settings, client, tmp_path_factory):
    """v1 and v2 built from app/ and pushed; "bad" is v1 with APP_UNHEALTHY=1."""
    assert settings["IMAGE_REPOSITORY"] == f"127.0.0.1:5000/{APP}"
    records = tmp_path_factory.mktemp("image-records")
    out = {}
    for name in ("v1", "v2"):
        git = GitInfo("local", secrets.token_hex(20))
        builder.build_image(
            settings,
            Runner(),
            git=git,
            root=records,
            context=PROJECT_ROOT / "app",
            pull_cache=False,
        )
        record = pusher.push_image(settings, Runner(), git=git, root=records)
        assert "@sha256:" in record.reference
        out[name] = Release("development", record.version, record.reference, git_sha=git.sha)
    repo = settings["IMAGE_REPOSITORY"]
    dockerfile = f"FROM {out['v1'].image}\nENV APP_UNHEALTHY=1\n".encode()
    client.images.build(fileobj=io.BytesIO(dockerfile), tag=f"{repo}:bad", rm=True)
    for line in client.api.push(repo, tag="bad", stream=True, decode=True):
        assert "error" not in line, line
    digest = next(
        d.split("@", 1)[1]
        for d in client.api.inspect_image(f"{repo}:bad")["RepoDigests"]
        if d.startswith(repo + "@")
    )
    out["bad"] = Release("development", "bad", f"{repo}:bad@{digest}")
    yield out
    for image in client.images.list(name=repo):
        for tag in image.tags:
            client.images.remove(tag, noprune=True)
    for release in out.values():  # the registry outlives the test: drop its manifests
        path = repo.split("/", 1)[1]
        digest = release.image.split("@", 1)[1]
        request = urllib.request.Request(
            f"http://127.0.0.1:5000/v2/{path}/manifests/{digest}", method="DELETE"
        )
        with contextlib.suppress(OSError):
            _LOCAL.open(request, timeout=5).close()


@pytest.fixture(scope="module")
def stack(settings, releases):
    """Takes the stack down (volumes too) after the module, whatever happened."""
    yield
    session.down(settings, Runner(), volumes=True)


def get_json(url: str):
    try:
        with _LOCAL.open(url, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def run(settings, action, what):
    runner = Runner()
    with opened(settings, runner) as dep:
        opts = flow.Options(gates=False, reason="local target test")
        result = (
            flow.deploy(dep, what, opts) if action == "deploy" else flow.rollback(dep, what, opts)
        )
        serving = dep.target.current()
        entries = dep.ledger.entries()
    if result.postmortem:  # written under the checkout; not this test's to keep
        Path(result.postmortem).unlink(missing_ok=True)
    return result, serving, entries


def redis_container(client, settings):
    project = f"{APP}-development"
    (found,) = client.containers.list(
        filters={
            "label": [f"com.docker.compose.project={project}", "com.docker.compose.service=redis"]
        }
    )
    return found.id, found.attrs["State"]["StartedAt"]


def test_upgrade_with_no_downtime_rollback_and_a_release_that_never_gets_healthy(
    settings, releases, stack, client, ports, capfd
):
    v1, v2, bad = releases["v1"], releases["v2"], releases["bad"]
    url = settings["APP_URL"]

    result, serving, entries = run(settings, "deploy", v1)
    assert result.exit_code == ExitCode.OK, result.entry.notes
    assert serving.version == v1.version and serving.image == v1.image
    assert get_json(f"{url}/version")[1]["version"] == v1.version
    assert all(c.ok for c in result.checks)
    redis_before = redis_container(client, settings)

    result, serving, entries = run(settings, "deploy", v2)
    assert result.exit_code == ExitCode.OK, result.entry.notes
    assert serving.version == v2.version
    assert get_json(f"{url}/version")[1]["version"] == v2.version
    assert redis_container(client, settings) == redis_before  # only the backend moved
    assert [e.version for e in entries] == [v1.version, v2.version]
    for entry in entries:
        assert entry.result == "succeeded" and entry.action == "deploy"
        assert entry.metrics["deployment_seconds"] > 0 and "watch" in entry.metrics
    # Blue-green behind this machine's nginx: the upgrade was probed and nothing failed
    # (a first deploy replaces nothing, so only the upgrade is probed).
    upgrade = entries[1].metrics
    assert upgrade["downtime_seconds"] == 0 and upgrade["failed_requests"] == 0, upgrade
    assert upgrade["probe_requests"] > 0
    status, ready = get_json(f"{url}/readyz")
    assert status == 200 and ready["checks"]["redis"]["ok"], ready

    result, serving, entries = run(settings, "rollback", None)
    assert result.exit_code == ExitCode.OK, result.entry.notes
    assert result.release.version == v1.version and serving.version == v1.version
    assert get_json(f"{url}/version")[1]["version"] == v1.version
    assert entries[-1].action == "rollback" and entries[-1].previous["version"] == v2.version
    assert entries[-1].hosts == {"local": f"switched: {v1.version} (blue)"}  # still warm
    assert entries[-1].metrics["failed_requests"] == 0

    result, serving, entries = run(settings, "deploy", bad)
    # It never got ready on the idle colour, so it never took traffic: exit 1.
    assert result.exit_code == ExitCode.FAILED, result.entry.notes
    assert serving.version == v1.version  # what served still serves
    assert get_json(f"{url}/version")[1]["version"] == v1.version
    assert get_json(f"{url}/health")[0] == 200
    assert entries[-1].version == "bad" and entries[-1].result == "failed"
    assert entries[-1].metrics["failed_requests"] == 0

    out = capfd.readouterr()
    assert SECRET not in out.out + out.err
    assert "Deployment metrics" in out.out  # the metrics table after every run


def test_status_and_logs_of_the_running_stack(settings, stack, releases, capfd):
    """Runs on its own: it deploys v1 first when something else serves."""
    with opened(settings, Runner()) as dep:
        if (dep.target.current() or Release("", "", "")).version != releases["v1"].version:
            result = flow.deploy(dep, releases["v1"], flow.Options(gates=False, watch=False))
            assert result.ok, result.entry
        state = dep.target.status()
        dep.target.logs()
    ((unit, slot, version, container, _),) = state.rows
    assert (unit, version) == ("local", releases["v1"].version) and slot in ("blue", "green")
    assert container.startswith("running") and "nginx running" in container
    assert any(note.startswith("redis: running") for note in state.notes), state.notes
    assert state.serving.version == releases["v1"].version
    assert '"level":"info"' in capfd.readouterr().out  # the serving app's own log lines


def test_cli_deploy_status_history_on_the_local_default(values, releases, stack):
    """`invoke deploy --env development` by hand, as after `nox -s ci`: the gated flow
    (advisory outside staging and production), then status and history show it."""
    from helpers import invoke

    sets = [a for k, v in values.items() if k != "JWT_SECRET" for a in ("--set", f"{k}={v}")]
    secret = {"JWT_SECRET": SECRET}
    for name in ("v2", "v1"):
        result = invoke(
            "deploy", "--env", "development", "--image", releases[name].image, *sets, env=secret
        )
        assert result.code == 0, result.output
        assert "advisory outside staging and production" in result.stdout
        assert "Deployment metrics" in result.stdout and SECRET not in result.output
    status = invoke("status", "--env", "development", "--json", *sets, env=secret)
    assert status.code == 0, status.output
    assert json.loads(status.stdout)["serving"]["image"] == releases["v1"].image
    history = invoke("history", "--env", "development", "--json", *sets, env=secret)
    entries = json.loads(history.stdout)["entries"]
    assert [e["release"]["image"] for e in entries[:2]] == [
        releases["v1"].image,
        releases["v2"].image,
    ]
    assert entries[0]["gates"] and entries[0]["metrics"]["downtime_seconds"] >= 0


def test_a_deploy_after_the_state_directory_was_removed_takes_over_the_running_nginx(
    settings, state_dir, releases, stack
):
    """A user removes .shipwright/ (or clones again into the same folder) while the stack
    serves: the nginx it started still holds PORT, its pid file gone. The next deploy
    reloads that nginx (found by its config path) instead of failing to bind beside it."""
    url = settings["APP_URL"]
    result, _, _ = run(settings, "deploy", releases["v1"])
    assert result.exit_code == ExitCode.OK, result.entry.notes
    shutil.rmtree(state_dir)
    state_dir.mkdir()
    result, serving, entries = run(settings, "deploy", releases["v2"])
    assert result.exit_code == ExitCode.OK, result.entry.notes
    assert serving.version == releases["v2"].version
    assert get_json(f"{url}/version")[1]["version"] == releases["v2"].version
    assert [e.version for e in entries] == [releases["v2"].version]  # a new ledger
