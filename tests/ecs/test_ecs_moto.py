"""The ECS target against the local AWS endpoint (moto server, real HTTP): task
definitions, the service update, current/verify, rollback to the ledger's last good
revision, retention, one-off task start-up, status, logs, secret references in SSM, and
the lock and ledger in S3.

What moto cannot show (service deployments, two deployments at once, circuit breaker,
a task's real exit code) is proven with Stubber sequences in test_ecs_stubbed.py.
"""

from __future__ import annotations

import threading

import pytest
from support.ecsworld import release

from shipwright.errors import ConfigError, ExitCode, ShipwrightError
from shipwright.flow import commands
from shipwright.flow.session import opened
from shipwright.lock import DeployLock, LockHeld
from shipwright.runner import Runner
from shipwright.targets.ecs.target import EcsTarget

pytestmark = pytest.mark.integration


def deploy(settings, rel) -> int:
    try:
        commands.deploy(settings, Runner(echo=False), release=rel, gates=False, watch=False)
    except ShipwrightError as exc:
        return int(exc.exit_code)
    return 0


def test_deploy_registers_by_digest_updates_and_records(ecs_world):
    settings = ecs_world.settings()
    v1 = release("v1")
    assert deploy(settings, v1) == 0
    target = EcsTarget(settings, Runner(echo=False))
    assert target.current().version == "v1"
    serving = target.serving_definition()
    app = serving["containerDefinitions"][0]
    assert app["image"] == v1.image.replace(":v1@", "@")  # by digest
    assert {s["name"] for s in app["secrets"]} >= {"MONGO_URI", "JWT_SECRET"}
    assert all(s["valueFrom"].startswith("arn:aws:ssm:") for s in app["secrets"])
    assert not any(e["name"] == "MONGO_URI" for e in app["environment"])
    assert target.verify(v1).ok
    with opened(settings, Runner(echo=False), staging=False) as dep:
        entry = dep.ledger.history(limit=1)[0]
    assert (entry.action, entry.result, entry.version) == ("deploy", "succeeded", "v1")
    assert entry.hosts[ecs_world.service].startswith("switched")


def test_rollback_goes_to_the_last_good_revision_and_retention_keeps_it(ecs_world):
    settings = ecs_world.settings(DEPLOY_KEEP_IMAGES="1")
    for tag in ("v1", "v2", "v3"):
        assert deploy(settings, release(tag)) == 0
    # v1's revision is no longer needed (keep 1 + both sides of the newest deploy)
    target = EcsTarget(settings, Runner(echo=False))
    versions = {
        target._release_of(arn).version for arn in ecs_world.active_revisions()
    }  # the bootstrap revision is not ours and stays
    assert {"v2", "v3"} <= versions and "v1" not in versions
    commands.rollback(settings, Runner(echo=False), reason="test")
    assert target.current().version == "v2"
    assert any(target._release_of(a).version == "v2" for a in ecs_world.active_revisions())


def test_deploying_the_same_release_again_reuses_its_revision(ecs_world):
    settings = ecs_world.settings()
    assert deploy(settings, release("v1")) == 0
    before = ecs_world.active_revisions()
    assert deploy(settings, release("v1")) == 0
    assert ecs_world.active_revisions() == before


def test_a_missing_service_or_cluster_is_a_config_error_naming_the_setting(ecs_world):
    for key, value in (("ECS_SERVICE", "nope"), ("ECS_CLUSTER", "nope")):
        settings = ecs_world.settings(**{key: value})
        with pytest.raises(ConfigError, match=key):
            EcsTarget(settings, Runner(echo=False)).current()


def test_a_missing_secret_reference_refuses_before_anything_changes(ecs_world):
    settings = ecs_world.settings(AWS_SECRET_REFS=f"MONGO_URI={ecs_world.secret_arn('GONE')}")
    before = ecs_world.active_revisions()
    assert deploy(settings, release("v1")) == ExitCode.BAD_INPUT
    assert ecs_world.active_revisions() == before


def test_two_deploys_at_once_exactly_one_proceeds(ecs_world):
    settings = ecs_world.settings()
    codes: list[object] = []
    start = threading.Barrier(2)

    def one() -> None:
        start.wait()
        try:
            commands.deploy(
                settings, Runner(echo=False), release=release("v1"), gates=False, watch=False
            )
            codes.append(0)
        except LockHeld:
            codes.append("held")

    threads = [threading.Thread(target=one) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(map(str, codes)) == ["0", "held"]


def test_the_lock_names_its_holder_and_is_released(ecs_world):
    settings = ecs_world.settings()
    target = EcsTarget(settings, Runner(echo=False))
    lock = DeployLock(target.lock_store(), "staging")
    lock.acquire(version="v9", reason="someone else")
    with pytest.raises(LockHeld, match="someone else"):
        DeployLock(target.lock_store(), "staging").acquire()
    lock.release()
    assert target.lock_store().read("staging") is None


def test_status_and_logs(ecs_world, capsys):
    settings = ecs_world.settings()
    assert deploy(settings, release("v1")) == 0
    ecs_world.write_logs("0123456789abcdef", ["listening on 3000", "GET /health 200"])
    target = EcsTarget(settings, Runner(echo=False))
    state = target.status()
    assert state.serving.version == "v1"
    assert state.rows[0][0] == "PRIMARY" and state.rows[0][2] == "v1"
    capsys.readouterr()
    target.logs(since="5m")
    out = capsys.readouterr().out
    assert "GET /health 200" in out and "0123456789ab" in out


def test_a_one_off_task_that_never_ran_is_not_a_success(ecs_world):
    """moto stops a task without running its containers: no exit code, so not 0."""
    settings = ecs_world.settings()
    assert deploy(settings, release("v1")) == 0
    target = EcsTarget(settings, Runner(echo=False))
    result = target.run(release("v1"), ["node", "migrate.js"])
    assert result.exit_code != 0 and result.where.startswith("arn:aws:ecs:")
