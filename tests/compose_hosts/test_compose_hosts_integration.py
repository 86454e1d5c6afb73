"""Deploys and rollbacks against real hosts: three network namespaces, each with its own
dockerd, sshd (key-only) and nginx, pulling from a real registry (support.sandbox).

A prober sends bounded traffic through every host's nginx during each deploy and
rollback; every case ends with every host serving a known release, the lock released,
the ledger saying what happened and the exit code of the task.
"""

from __future__ import annotations

import contextlib
import json
import re
import signal
import socket
import stat
import threading
import time
from pathlib import Path

import pytest
from helpers import invoke, require
from support.fleet import APP_NAME, ENVIRONMENT, Fleet, missing_components
from support.fleet import fleet as make_fleet

from shipwright.domain import Release
from shipwright.errors import ExitCode
from shipwright.lock import DeployLock

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def fleet():
    missing = missing_components()
    require(not missing, f"real SSH hosts need: {', '.join(missing)}")
    with make_fleet(3) as built:
        yield built


@pytest.fixture
def on_v1(fleet: Fleet) -> Fleet:
    """Every host serves v1 before the test; captured commands start empty."""
    fleet.ensure("v1")
    fleet.runner.commands.clear()
    fleet.runner.uploads.clear()
    return fleet


@contextlib.contextmanager
def no_failed_requests(fleet: Fleet, minimum: int = 30):
    with fleet.prober() as prober:
        yield prober
    assert prober.failed == 0, prober.summary()
    assert prober.total >= minimum, prober.summary()


def serving(fleet: Fleet) -> set[str | None]:
    return set(fleet.serving().values())


def assert_ended(fleet: Fleet, version: str, action: str, result: str) -> None:
    """Every host serves ``version``, no lock is left, the ledger's newest entry says so."""
    assert serving(fleet) == {version}
    assert fleet.lock() is None
    entry = fleet.history()[0]
    assert (entry.action, entry.result) == (action, result), entry


# -- the happy path -----------------------------------------------------------------------
def test_rolling_deploy_then_rollback_drop_no_request(on_v1: Fleet):
    events = []
    with no_failed_requests(on_v1) as prober:
        code, report = on_v1.deploy(
            "v2", DEPLOY_BATCH_SIZE="2", hook=lambda e, d: events.append((e, d.get("hosts")))
        )
    assert code == ExitCode.OK, report
    assert_ended(on_v1, "v2", "deploy", "succeeded")
    names = [h.address for h in on_v1.hosts.hosts]
    assert [hosts for e, hosts in events if e == "batch-start"] == [names[:2], names[2:]]
    for tally in prober.tallies.values():  # traffic really moved while it was probed
        assert tally.versions["v1"] and tally.versions["v2"]
    entry = on_v1.history()[0]
    assert entry.previous["version"] == "v1" and entry.release["version"] == "v2"
    assert set(entry.hosts.values()) == {"switched: v2 (green)"}
    assert {"connect", "lock", "pull", "start", "ready", "switch", "verify"} <= set(entry.phases)
    pulls = [c for c in on_v1.runner.commands if "docker pull" in c]
    assert pulls and all(re.search(r"docker pull \S+@sha256:[0-9a-f]{64}$", c) for c in pulls)
    with on_v1.target() as target:
        checks = target.verify(on_v1.release("v2"))
        assert checks.ok and len(checks.items) == 6, checks
        assert not target.verify(on_v1.release("v1")).ok

    with no_failed_requests(on_v1) as prober:
        code, report = on_v1.rollback()
    assert code == ExitCode.OK, report
    assert_ended(on_v1, "v1", "rollback", "succeeded")
    assert on_v1.history()[0].previous["version"] == "v2"


def test_cli_status_history_and_dry_run(on_v1: Fleet):
    sets = [arg for k, v in on_v1.overrides().items() for arg in ("--set", f"{k}={v}")]
    ungated = ("--no-gates", "--no-watch")

    status = invoke("status", "--env", ENVIRONMENT, "--json", *sets)
    assert status.code == 0, status.output
    state = json.loads(status.stdout)
    hosts = state["details"]
    assert state["serving"]["version"] == "v1"
    assert {h["version"] for h in hosts.values()} == {"v1"}
    assert {h["nginx"] for h in hosts.values()} == {"running"}

    history = invoke("history", "--env", ENVIRONMENT, "--json", *sets)
    assert history.code == 0, history.output
    assert json.loads(history.stdout)["entries"][0]["release"]["version"] == "v1"

    before = len(on_v1.history())
    image = on_v1.images["v2"]
    plan = invoke("deploy", "--env", ENVIRONMENT, "--image", image, *ungated, "--dry-run", *sets)
    assert plan.code == 0, plan.output
    idle = {"blue": "green", "green": "blue"}[hosts[on_v1.hosts.hosts[0].address]["active_slot"]]
    assert f"docker run -d --name swtest-{idle}" in plan.stdout and "(mode 0600)" in plan.stdout
    assert "blue, or green" not in plan.stdout  # the plan read which slot serves
    assert serving(on_v1) == {"v1"} and len(on_v1.history()) == before  # nothing changed

    back = invoke("rollback", "--env", ENVIRONMENT, "--to", "v1", "--dry-run", *sets)
    assert back.code == 0 and "would rollback v1" in back.stdout, back.output

    table = invoke("deploy", "--env", ENVIRONMENT, "--image", image, *ungated, *sets)
    assert table.code == 0, table.output
    assert re.search(r"Unit.+Ended.+Detail", table.stdout)
    assert table.stdout.count("switched") >= 3
    assert (
        json.loads(invoke("history", "--env", ENVIRONMENT, "--json", *sets).stdout)["entries"][0][
            "gates"
        ]
        is None
    )  # recorded as ungated


# -- keep-warm ------------------------------------------------------------------------
def sets(fleet: Fleet, **extra: str) -> list[str]:
    return [arg for k, v in fleet.overrides(**extra).items() for arg in ("--set", f"{k}={v}")]


def idle_slots(fleet: Fleet) -> list[dict]:
    with fleet.target() as target:
        hosts = target.status().data.values()
    return [
        {**info, **info["slots"][{"blue": "green", "green": "blue"}[info["active_slot"]]]}
        for info in hosts
    ]


def starts_or_pulls(commands: list[str]) -> list[str]:
    return [c for c in commands if re.search(r"docker (pull|run -d|start)\b", c)]


def test_a_rollback_inside_the_keep_warm_time_is_an_nginx_switch(on_v1: Fleet):
    code, report = on_v1.deploy("v2")
    assert code == ExitCode.OK, report
    for idle in idle_slots(on_v1):  # v1 left traffic but keeps running, warm
        assert (idle["version"], idle["status"]) == ("v1", "running")
        assert 0 < idle["warm_until"] - time.time() <= 1800
    on_v1.runner.commands.clear()
    with no_failed_requests(on_v1, minimum=10):
        code, report = on_v1.rollback()
    assert code == ExitCode.OK, report
    assert_ended(on_v1, "v1", "rollback", "succeeded")
    assert starts_or_pulls(on_v1.runner.commands) == []  # nothing pulled, started or created
    entry = on_v1.history()[0]
    assert entry.hosts and all(u.startswith("switched: v1") for u in entry.hosts.values())
    for idle in idle_slots(on_v1):  # and v2, which it left, is warm now
        assert (idle["version"], idle["status"]) == ("v2", "running")


def test_after_the_keep_warm_time_prune_stops_the_old_colour_and_keeps_its_container(
    on_v1: Fleet,
):
    short = {"DEPLOY_KEEP_WARM": "2", "WATCH_SECONDS": "0"}  # host clocks count whole seconds
    code, report = on_v1.deploy("v2", **short)
    assert code == ExitCode.OK, report
    time.sleep(2.5)
    pruned = invoke("prune", "--env", ENVIRONMENT, *sets(on_v1, **short))
    assert pruned.code == 0, pruned.output
    assert pruned.stdout.count("stopped (its keep-warm time is over)") == len(on_v1.hosts.hosts)
    for idle in idle_slots(on_v1):
        assert (idle["version"], idle["status"]) == ("v1", "exited")  # stopped, not removed
    on_v1.runner.commands.clear()
    with no_failed_requests(on_v1, minimum=10):
        code, report = on_v1.rollback(**short)
    assert code == ExitCode.OK, report
    assert_ended(on_v1, "v1", "rollback", "succeeded")
    sent = starts_or_pulls(on_v1.runner.commands)
    assert sent and all(c.startswith("docker start") for c in sent), sent  # started again


# -- faults: each ends on the previous release, unlocked, recorded ------------------------
def test_release_that_never_gets_ready_changes_nothing(on_v1: Fleet):
    with no_failed_requests(on_v1):
        code, error = on_v1.deploy("unhealthy", DEPLOY_BATCH_SIZE="1")
    assert code == ExitCode.FAILED, error
    assert "nothing changed" in str(error) and "never became ready" in str(error)
    assert_ended(on_v1, "v1", "deploy", "failed")
    with on_v1.target() as target:  # the container that never got ready is gone
        for info in target.status().data.values():
            assert "unhealthy" not in [slot["version"] for slot in info["slots"].values()]


def test_digest_missing_from_registry_fails_before_anything_moves(on_v1: Fleet):
    repo = on_v1.images["v1"].split(":v1@")[0]
    ghost = Release(ENVIRONMENT, "ghost", f"{repo}:ghost@sha256:{'0' * 64}")
    with no_failed_requests(on_v1):
        code, error = on_v1.deploy(ghost)
    assert code == ExitCode.FAILED and "docker pull" in str(error), error
    assert_ended(on_v1, "v1", "deploy", "failed")
    assert not any(c for c in on_v1.runner.commands if "docker run" in c)


def test_lock_held_refuses_waits_and_breaks(on_v1: Fleet):
    with on_v1.target() as target:
        other = DeployLock(target.lock_store(), ENVIRONMENT)
        other.acquire(version="v9", reason="someone else's hotfix")
        code, error = on_v1.deploy("v2")
        assert code == ExitCode.FAILED
        assert "someone else's hotfix" in str(error) and "deploying v9" in str(error)
        assert serving(on_v1) == {"v1"}
        assert not any("docker run" in c for c in on_v1.runner.commands)

        timer = threading.Timer(1.5, other.release)  # the other deploy ends while we wait
        timer.start()
        code, report = on_v1.deploy("v2", flags={"lock_wait": 30})
        timer.join()
        assert code == ExitCode.OK, report
        assert_ended(on_v1, "v2", "deploy", "succeeded")

        DeployLock(target.lock_store(), ENVIRONMENT).acquire(reason="crashed run")
    code, report = on_v1.deploy("v1", flags={"break_lock": True})
    assert code == ExitCode.OK, report
    assert_ended(on_v1, "v1", "deploy", "succeeded")
    broke = on_v1.history()[1]
    assert broke.action == "break-lock" and "crashed run" in broke.notes[0]


def test_ctrl_c_mid_rollout_restores_every_switched_host(on_v1: Fleet):
    fired = threading.Event()

    def hook(event, data):
        if event == "host-switched" and not fired.is_set():
            fired.set()
            # a real Ctrl-C, aimed at the main thread (where the CLI waits on the hosts), so
            # it lands while this batch is still switching
            signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)

    # Python raises KeyboardInterrupt only where SIGINT was not ignored at start-up (a
    # suite started as a background job inherits SIG_IGN): as the CLI has it in a terminal
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with no_failed_requests(on_v1):
            code, error = on_v1.deploy("v2", DEPLOY_BATCH_SIZE="2", hook=hook)
    finally:
        signal.signal(signal.SIGINT, previous)
    assert fired.is_set()
    assert code == ExitCode.RESTORED and "interrupted" in str(error), (
        error,
        on_v1.history()[0],
    )
    assert_ended(on_v1, "v1", "deploy", "restored")
    entry = on_v1.history()[0]
    assert any("restored: v1" in unit for unit in entry.hosts.values()), entry.hosts
    assert "interrupted" in " ".join(entry.notes)


# -- secrets --------------------------------------------------------------------------------
@contextlib.contextmanager
def tcp_listener(address: str):
    """Accepts and closes connections: what the app's Mongo readiness check needs."""
    server = socket.create_server((address, 0))
    server.settimeout(0.2)
    stop = threading.Event()

    def loop():
        while not stop.is_set():
            with contextlib.suppress(OSError):
                conn, _ = server.accept()
                conn.close()

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        stop.set()
        thread.join()
        server.close()


def canary_settings(address: str, port: int) -> dict[str, str]:
    c = "cAnArY7x"
    return {
        "MONGO_URI": f"mongodb://app:{c}mongo@{address}:{port}/learinal",
        "JWT_SECRET": f"{c}jwt-0123456789abcdef0123456789",
        "JWT_REFRESH_SECRET": f"{c}refresh-0123456789abcdef012345",
        "GOOGLE_CLIENT_SECRET": f"{c}google",
        "FACEBOOK_APP_SECRET": f"{c}facebook",
        "STRIPE_SECRET_KEY": f"sk_test_{c}stripe",
        "STRIPE_WEBHOOK_SECRET": f"whsec_{c}webhook",
        "SEPAY_API_KEY": f"{c}sepay",
        "OPENAI_API_KEY": f"{c}openai",
        "ANTHROPIC_API_KEY": f"{c}anthropic",
        "SENTRY_DSN": f"https://{c}dsn@sentry.invalid/1",
        "AWS_SECRET_ACCESS_KEY": f"{c}aws",
        "DOCKER_USERNAME": "ci-bot",
        "DOCKER_PASSWORD": f"{c}registry",
        "SNYK_TOKEN": f"{c}snyk",
    }


def test_secrets_never_reach_command_lines_output_or_ledger(on_v1: Fleet, capfd):
    import docker

    with tcp_listener(on_v1.hosts.bridge_addr) as port:
        secrets = canary_settings(on_v1.hosts.bridge_addr, port)
        with no_failed_requests(on_v1):
            code, report = on_v1.deploy("v2", **secrets)
            assert code == ExitCode.OK, report
            code, report = on_v1.rollback(**secrets)
            assert code == ExitCode.OK, report
    canary = "cAnArY7x"
    out, err = capfd.readouterr()
    assert canary not in out + err
    assert on_v1.runner.commands and not [c for c in on_v1.runner.commands if canary in c]
    # They did reach the app, through 0600 files only.
    assert any(canary in content for path, content in on_v1.runner.uploads)
    for host in on_v1.hosts.hosts:
        root = Path(host.state_dir) / APP_NAME
        env_files = list((root / "env").glob("*.env"))  # v2's slot got them; v1's kept its own
        assert any(f"JWT_SECRET={secrets['JWT_SECRET']}" in f.read_text() for f in env_files)
        assert all(stat.S_IMODE(f.stat().st_mode) == 0o600 for f in env_files)
        assert stat.S_IMODE((root / "env").stat().st_mode) == 0o700
        assert not (root / "env" / ".registry-password").exists()  # login file removed
        for name in ("ledger", "locks"):
            for path in (root / name).rglob("*"):
                assert canary not in path.read_text(), path
        client = docker.DockerClient(base_url=host.docker_host)
        try:
            for container in client.containers.list(all=True):
                attrs = container.attrs
                shown = json.dumps(
                    [attrs["Config"]["Labels"], attrs["Config"]["Cmd"], attrs["Args"]]
                )
                assert canary not in shown
        finally:
            client.close()
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        with contextlib.suppress(OSError):
            assert canary.encode() not in cmdline.read_bytes(), cmdline


def host_images(host) -> set[str]:
    import docker

    client = docker.DockerClient(base_url=host.docker_host)
    try:
        return {d.split("@", 1)[1] for i in client.images.list() for d in i.attrs["RepoDigests"]}
    finally:
        client.close()


def test_prune_keeps_what_the_ledger_needs(on_v1: Fleet):
    digest = {v: ref.split("@", 1)[1] for v, ref in on_v1.images.items()}
    for i in range(len(on_v1.hosts.hosts)):  # an image no release needs is on every host
        pull = on_v1.images["unhealthy"].replace(on_v1.hosts.push_addr, on_v1.hosts.registry_addr)
        on_v1.hosts.connection(i).run(
            f"docker pull {pull.split(':unhealthy')[0]}@{digest['unhealthy']}", hide=True
        )
    code, report = on_v1.deploy("v2")
    assert code == ExitCode.OK, report
    for host in on_v1.hosts.hosts:
        present = host_images(host)
        assert {digest["v1"], digest["v2"]} <= present  # serving, and the last good before
        assert digest["unhealthy"] not in present


# -- a host dies mid-rollout (last: it changes the fleet) ---------------------------------
def test_host_down_mid_rollout_restores_the_others(on_v1: Fleet):
    hosts = on_v1.hosts.hosts
    dead = hosts[1]
    with on_v1.prober() as prober:

        def hook(event, data):
            if event == "batch-done" and data["batch"] == 1:
                prober.pause(dead.name)  # never probe a dead host
                on_v1.hosts.stop_host(1)

        code, error = on_v1.deploy("v2", DEPLOY_BATCH_SIZE="1", hook=hook)
    assert prober.failed == 0, prober.summary()
    assert code == ExitCode.RESTORED, error
    now = on_v1.serving()
    assert now[dead.address] == "unreachable"
    assert {v for h, v in now.items() if h != dead.address} == {"v1"}
    assert on_v1.lock() is None
    entry = on_v1.history()[0]
    assert (entry.action, entry.result) == ("deploy", "restored")
    assert entry.hosts[hosts[0].address].startswith("restored: v1")
    assert entry.hosts[dead.address].startswith("unchanged")
    assert entry.hosts[hosts[2].address].startswith("unchanged: v1")

    # The host comes back (nginx is not a container): the next deploy brings it in line.
    on_v1.hosts.start_host(1)
    code, report = on_v1.deploy("v2")
    assert code == ExitCode.OK, report
    assert_ended(on_v1, "v2", "deploy", "succeeded")
    with no_failed_requests(on_v1, minimum=10):
        threading.Event().wait(1)
