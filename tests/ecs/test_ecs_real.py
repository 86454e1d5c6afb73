"""The ECS target against real AWS: what the local endpoint cannot show (a deployment's
real progress and end, the circuit breaker, a one-off task's real exit code and logs).

Runs when AWS credentials (the standard chain: AWS_PROFILE, keys, a role) and
ECS_TEST_CLUSTER are set; skipped with the reason printed otherwise. It deploys to a
service you made for it (ECS_TEST_SERVICE, default learinal-backend-test, with the
circuit breaker on and rollback enabled), keeps the lock and ledger in
ECS_TEST_BUCKET, and needs two good images and one that never gets healthy, by digest:
ECS_TEST_IMAGE_V1, ECS_TEST_IMAGE_V2, ECS_TEST_IMAGE_BAD. Secrets: ECS_TEST_SECRET_FROM
(an AWS_SECRET_FROM template) when the environment requires any.
"""

from __future__ import annotations

import os

import pytest

from shipwright.domain import Release
from shipwright.errors import ExitCode, ShipwrightError
from shipwright.flow import commands
from shipwright.runner import Runner
from shipwright.settings import load_settings

pytestmark = [pytest.mark.integration, pytest.mark.real_service]
NEEDED = ("ECS_TEST_CLUSTER", "ECS_TEST_BUCKET", "ECS_TEST_IMAGE_V1", "ECS_TEST_IMAGE_V2")


@pytest.fixture(scope="module")
def real():
    missing = [k for k in NEEDED if not os.environ.get(k)]
    if missing:
        pytest.skip(f"real AWS suite: set {', '.join(missing)} (and AWS credentials) to run it")
    import boto3

    if boto3.session.Session().get_credentials() is None:
        pytest.skip("real AWS suite: no AWS credentials in the standard chain")
    environment = os.environ.get("ECS_TEST_ENV", "staging")
    overrides = {
        "DEPLOY_TARGET": "ecs",
        "ECS_CLUSTER": os.environ["ECS_TEST_CLUSTER"],
        "ECS_SERVICE": os.environ.get("ECS_TEST_SERVICE", "learinal-backend-test"),
        "AWS_STATE_BUCKET": os.environ["ECS_TEST_BUCKET"],
        "ECS_POLL_SECONDS": "10",
    }
    if os.environ.get("ECS_TEST_SECRET_FROM"):
        overrides["AWS_SECRET_FROM"] = os.environ["ECS_TEST_SECRET_FROM"]
    settings = load_settings(environment, overrides=overrides)
    images = {tag: os.environ.get(f"ECS_TEST_IMAGE_{tag.upper()}") for tag in ("v1", "v2", "bad")}
    releases = {tag: Release(environment, f"test-{tag}", ref) for tag, ref in images.items() if ref}
    return settings, releases


def deploy(settings, release) -> int:
    try:
        commands.deploy(settings, Runner(), release=release, gates=False, watch=False)
    except ShipwrightError as exc:
        return int(exc.exit_code)
    return 0


def test_deploy_rollback_status_logs_run(real):
    settings, releases = real
    assert deploy(settings, releases["v1"]) == 0
    assert deploy(settings, releases["v2"]) == 0
    commands.rollback(settings, Runner(), reason="real AWS suite")
    state = commands.status(settings, Runner())
    assert state.serving and state.serving.version == "test-v1"
    commands.logs(settings, Runner(), since="30m")
    with pytest.raises(ShipwrightError) as failed:
        commands.run(settings, Runner(), ["sh", "-c", "echo conformance-42; exit 3"])
    assert failed.value.exit_code == 3  # the app container's own exit code


def test_a_deploy_the_circuit_breaker_rolls_back_exits_3(real):
    settings, releases = real
    if "bad" not in releases:
        pytest.skip("real AWS suite: set ECS_TEST_IMAGE_BAD (an image that never gets healthy)")
    assert deploy(settings, releases["v1"]) == 0
    assert deploy(settings, releases["bad"]) == ExitCode.RESTORED
    state = commands.status(settings, Runner())
    assert state.serving.version == "test-v1"
