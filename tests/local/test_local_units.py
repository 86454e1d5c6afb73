"""The local target's pure parts: lock file, compose invocations, pull rule, this machine
as the one blue-green host (ports, nginx on loopback, plan), the stack's teardown script.

No engine needed: the integration suite (test_local_integration.py) runs the real stack.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from shipwright.domain import Release
from shipwright.errors import ConfigError
from shipwright.localdefault import MARKS
from shipwright.lock import DeployLock, FileLockStore, LockHeld, LockInfo
from shipwright.settings import load_settings
from shipwright.settings.envblock import write_block
from shipwright.targets.local_compose import commands as cmd
from shipwright.targets.local_compose import images
from shipwright.targets.local_compose.target import LocalComposeTarget

V1 = Release("development", "local-1111111", "127.0.0.1:5000/app:local-1111111@sha256:" + "1" * 64)
V2 = Release("development", "local-2222222", "127.0.0.1:5000/app:local-2222222@sha256:" + "2" * 64)


def dev_settings(**overrides: str):
    return load_settings("development", overrides={"MONGO_URI": "", **overrides}, environ={})


# -- lock file -------------------------------------------------------------------------
def test_lock_file_is_created_once_with_its_content(tmp_path: Path):
    store = FileLockStore(tmp_path / "locks")
    mine = LockInfo("development", holder="alice", version="v1", reason="try")
    assert store.create(mine) is None
    held = store.create(LockInfo("development", holder="bob"))
    assert held is not None and held.holder == "alice" and held.version == "v1"
    assert store.read("development") == mine
    assert json.loads(store.path("development").read_text())["reason"] == "try"
    assert list((tmp_path / "locks").iterdir()) == [store.path("development")]  # no temp left


def test_lock_delete_needs_the_holders_token(tmp_path: Path):
    store = FileLockStore(tmp_path)
    mine = LockInfo("development")
    store.create(mine)
    store.delete("development", token="someone-else")
    assert store.read("development") == mine
    store.delete("development", token=mine.token)
    assert store.read("development") is None
    store.delete("development")  # nothing there: no error


def test_unreadable_lock_still_counts_as_held(tmp_path: Path):
    store = FileLockStore(tmp_path)
    store.path("development").write_text("{torn")
    held = store.create(LockInfo("development"))
    assert held is not None and held.holder == "unknown"


def test_only_one_of_many_concurrent_takers_gets_the_lock(tmp_path: Path):
    store = FileLockStore(tmp_path)
    winners: list[str] = []
    barrier = threading.Barrier(8)

    def take(i: int) -> None:
        barrier.wait()
        if store.create(LockInfo("development", holder=f"p{i}")) is None:
            winners.append(f"p{i}")

    threads = [threading.Thread(target=take, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(winners) == 1 and store.read("development").holder == winners[0]


def test_deploy_lock_rules_work_on_the_file_store(tmp_path: Path):
    store = FileLockStore(tmp_path)
    first, second = DeployLock(store, "development"), DeployLock(store, "development")
    with first.hold(version="v1", reason="first"):
        with pytest.raises(LockHeld, match="deploying v1"):
            second.acquire()
    assert store.read("development") is None


# -- compose invocations ---------------------------------------------------------------
@pytest.mark.parametrize(
    "uri, local",
    [
        ("mongodb://127.0.0.1:27017/app", True),
        ("mongodb://user:p%40ss@localhost/app?authSource=admin", True),
        ("mongodb://127.0.0.1:27017,127.0.0.2:27018/app", True),
        ("mongodb://127.0.0.1,db.example.com/app", False),
        ("mongodb+srv://cluster.example.net/app", False),
        ("", False),
        (None, False),
    ],
)
def test_mongodb_runs_in_the_stack_only_when_the_uri_is_this_machine(uri, local):
    assert cmd.mongo_is_local(uri) is local


def test_dependencies_start_from_the_compose_file_and_are_waited_for(tmp_path: Path):
    stack = cmd.Stack.for_settings(
        dev_settings(DEPLOY_READY_TIMEOUT="25", MONGO_URI="mongodb://127.0.0.1:27017/x")
    )
    argv = stack.up_dependencies(["docker", "compose"])
    assert argv[-7:] == ["up", "--detach", "--wait", "--wait-timeout", "25", "redis", "mongodb"]
    assert argv[argv.index("-f") + 1].endswith("docker-compose.yml") and "backend" not in argv
    assert argv[argv.index("--profile") + 1] == "mongodb"
    assert stack.project == "learinal-backend-development"


def test_compose_environment_has_no_secret_and_local_defaults(tmp_path: Path, monkeypatch):
    monkeypatch.delenv("BACKEND_HOST", raising=False)
    monkeypatch.delenv("HEALTHCHECK_INTERVAL", raising=False)
    secret = "jwt-secret-for-the-unit-test-0123456789"
    stack = cmd.Stack.for_settings(dev_settings(JWT_SECRET=secret))
    env = stack.environment()
    assert secret not in env.values()
    assert env["BACKEND_HOST"] == "127.0.0.1" and env["HEALTHCHECK_INTERVAL"] == "2s"
    assert env["SHIPWRIGHT_APP_ENV_FILE"] == str(stack.env_file)
    assert stack.third_party_images() == {"redis": "redis:7-alpine"}
    own = cmd.Stack.for_settings(dev_settings(BACKEND_HOST="0.0.0.0"))
    assert own.environment()["BACKEND_HOST"] == "0.0.0.0"


# -- pull rule --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "registry, loopback",
    [
        ("127.0.0.1:5000", True),
        ("127.0.0.1", True),
        ("localhost:5000", True),
        ("[::1]:5000", True),
        ("docker.io", False),
        ("ghcr.io", False),
        ("10.0.0.1:5000", False),
    ],
)
def test_loopback_registries(registry, loopback):
    assert images.is_loopback(registry) is loopback


def test_public_images_are_pulled_only_when_allowed(monkeypatch):
    monkeypatch.delenv(images.ALLOW_PULL, raising=False)
    assert images.pull_allowed("127.0.0.1:5000/app:v1@sha256:" + "1" * 64)
    assert not images.pull_allowed("redis:7-alpine")
    monkeypatch.setenv(images.ALLOW_PULL, "1")
    assert images.pull_allowed("redis:7-alpine")


class _NoImages:
    """A docker client stand-in whose engine has no image at all."""

    class images:  # noqa: N801 - mirrors docker.DockerClient.images
        @staticmethod
        def get(reference):
            import docker.errors

            raise docker.errors.ImageNotFound(reference)


def test_a_missing_public_image_is_a_config_error_not_a_pull(monkeypatch):
    from shipwright.runner import Runner

    monkeypatch.delenv(images.ALLOW_PULL, raising=False)
    runner = Runner(dry_run=True)
    with pytest.raises(ConfigError, match="SHIPWRIGHT_ALLOW_PULL=1"):
        images.ensure_image(_NoImages(), runner, "redis:7-alpine", "redis")
    assert runner.plan == []  # nothing was even planned


# -- this machine as the one blue-green host ------------------------------------------
def test_nginx_takes_port_on_loopback_and_the_colours_the_next_two(tmp_path):
    from shipwright.targets.local_compose.target import local_config

    settings = dev_settings(SHIPWRIGHT_STATE_DIR=str(tmp_path), PORT="4100")
    config = local_config(settings, cmd.Stack.for_settings(settings))
    assert (config.proxy_bind, config.proxy_port, config.port) == ("127.0.0.1", 4100, 4101)
    assert config.host_root == str((tmp_path / "local").resolve()) and not config.pull_images
    assert config.keep_warm == 1800 and config.app_name == "learinal-backend-development"


def test_the_plan_names_every_step_and_changes_nothing(tmp_path):
    from shipwright.runner import Runner

    runner = Runner(dry_run=True)
    settings = dev_settings(SHIPWRIGHT_STATE_DIR=str(tmp_path))
    target = LocalComposeTarget(settings, runner, client=object())
    steps = target.plan(V2).steps
    assert any(V2.image in s and "redis:7-alpine (redis)" in s for s in steps)
    assert any("up --detach --wait" in s and s.endswith(" redis") for s in steps)
    assert any("docker run -d --name learinal-backend-development-blue" in s for s in steps)
    assert any("listen 127.0.0.1:3000;" in s for s in steps)  # nginx: loopback only
    assert any("mode 0600" in s for s in steps) and runner.plan == []
    assert not any("docker pull" in s for s in steps)  # the engine has it (checked first)
    assert not (tmp_path / "local").exists() or not list((tmp_path / "local").rglob("*.env"))


def test_local_prepare_keeps_its_overrides_in_the_state_directory(tmp_path, own_state):
    """What `invoke local.prepare` found is written into the state directory's prepared
    layer, in a block that a later run rewrites; the loader then gives every hand-run
    task the same images -- below the user's own envs/.env.<env>.local."""
    from helpers import project_root

    from shipwright import localdefault

    root = project_root(tmp_path)
    (root / "envs" / ".env.development.local").write_text("REDIS_IMAGE=mine:1\n")
    settings = load_settings("development", root=root, environ={}, validate=False)
    local = localdefault.prepared_file(settings)
    assert local.is_relative_to(settings.state_dir) and not local.is_relative_to(root / "envs")
    local.parent.mkdir(parents=True)
    local.write_text("# mine\nGREETING=hello\n")
    write_block(local, {"BASE_IMAGE": "shipwright/node-base:18", "MONGO_URI": ""}, MARKS)
    write_block(
        local,
        {"BASE_IMAGE": "shipwright/node-base:18", "REDIS_IMAGE": "shipwright/redis:7-local"},
        MARKS,
    )
    text = local.read_text()
    assert text.startswith("# mine\nGREETING=hello\n")
    assert text.count(MARKS[0]) == 1 and "MONGO_URI" not in text
    assert oct(local.stat().st_mode & 0o777) == "0o600"
    settings = load_settings("development", root=root, environ={}, validate=False)
    assert settings["BASE_IMAGE"] == "shipwright/node-base:18"
    assert settings.sources["BASE_IMAGE"].file == local
    assert settings["REDIS_IMAGE"] == "mine:1"  # the user's .local wins over prepare's layer


def test_teardown_removes_both_colours_and_stops_their_nginx():
    from shipwright.targets.compose_hosts import commands as hosts_cmd

    script = cmd.remove_colours(hosts_cmd.Layout("/s", "app"))
    assert "docker rm -f app-blue" in script and "docker rm -f app-green" in script
    assert "cat /s/app/nginx/nginx.pid" in script and 'kill -QUIT "$m"' in script
    assert '" -c "/s/app/nginx/nginx.conf" "' in script  # found by its config when no pid


def test_prepare_decides_again_about_the_empty_mongo_uri_it_wrote_itself(
    tmp_path, monkeypatch, own_state
):
    """A second local.prepare must not drop the MONGO_URI='' the first one wrote (the
    stack would then want a MongoDB this machine cannot run)."""
    import shutil

    from shipwright import PROJECT_ROOT, localdefault
    from shipwright.runner import Runner

    monkeypatch.delenv(images.ALLOW_PULL, raising=False)
    shutil.copytree(PROJECT_ROOT / "envs", tmp_path / "envs")
    (tmp_path / "envs/.env.development.local").unlink(missing_ok=True)
    settings = load_settings("development", root=tmp_path, environ={})
    assert cmd.mongo_is_local(settings["MONGO_URI"])  # development's own default
    first = localdefault._mongo(settings, Runner(echo=False), None)  # no engine has mongo:7
    assert first == {"MONGO_URI": ""}
    write_block(localdefault.prepared_file(settings), first, MARKS)
    again = load_settings("development", root=tmp_path, environ={})
    assert not again.get("MONGO_URI")
    assert localdefault._mongo(again, Runner(echo=False), None) == first  # kept, not dropped
