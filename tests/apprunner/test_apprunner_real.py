"""App Runner and ECS Express Mode against real AWS: what recorded shapes cannot show
(App Runner's real operation timing and its own rollback of an update that never gets
healthy; Express's real canary, its alarm rollback, its endpoint answering HTTPS).

App Runner runs when AWS credentials (the standard chain) and APPRUNNER_TEST_SERVICE
(an existing image-based service's ARN or name -- App Runner creates no new services
since 2026-04-30) are set, with APPRUNNER_TEST_BUCKET (lock and ledger) and, by digest
in ECR, APPRUNNER_TEST_IMAGE_V1, APPRUNNER_TEST_IMAGE_V2 and APPRUNNER_TEST_IMAGE_BAD
(never healthy). Express runs with EXPRESS_TEST_EXECUTION_ROLE_ARN,
EXPRESS_TEST_INFRASTRUCTURE_ROLE_ARN, EXPRESS_TEST_BUCKET and EXPRESS_TEST_IMAGE_V1 /
_V2 / _BAD (EXPRESS_TEST_SERVICE names the service, created on the first run). Secrets:
*_TEST_SECRET_FROM (an AWS_SECRET_FROM template) when the environment requires any.
Skipped with the reason printed otherwise.
"""

from __future__ import annotations

import os

import pytest

from shipwright.domain import Release
from shipwright.errors import ExitCode, ShipwrightError
from shipwright.flow import commands
from shipwright.flow.session import opened
from shipwright.runner import Runner
from shipwright.settings import load_settings

pytestmark = [pytest.mark.integration, pytest.mark.real_service]
NEEDED = {
    "apprunner": (
        "APPRUNNER_TEST_SERVICE",
        "APPRUNNER_TEST_BUCKET",
        "APPRUNNER_TEST_IMAGE_V1",
        "APPRUNNER_TEST_IMAGE_V2",
    ),
    "ecs-express": (
        "EXPRESS_TEST_EXECUTION_ROLE_ARN",
        "EXPRESS_TEST_INFRASTRUCTURE_ROLE_ARN",
        "EXPRESS_TEST_BUCKET",
        "EXPRESS_TEST_IMAGE_V1",
        "EXPRESS_TEST_IMAGE_V2",
    ),
}


def real(target: str):
    missing = [k for k in NEEDED[target] if not os.environ.get(k)]
    if missing:
        pytest.skip(f"real AWS suite ({target}): set {', '.join(missing)} (and AWS credentials)")
    import boto3

    if boto3.session.Session().get_credentials() is None:
        pytest.skip("real AWS suite: no AWS credentials in the standard chain")
    prefix = "APPRUNNER" if target == "apprunner" else "EXPRESS"
    env = os.environ.get(f"{prefix}_TEST_ENV", "staging")
    overrides = {"DEPLOY_TARGET": target, "AWS_STATE_BUCKET": os.environ[f"{prefix}_TEST_BUCKET"]}
    if target == "apprunner":
        overrides["APPRUNNER_SERVICE"] = os.environ["APPRUNNER_TEST_SERVICE"]
    else:
        overrides.update(
            EXPRESS_EXECUTION_ROLE_ARN=os.environ["EXPRESS_TEST_EXECUTION_ROLE_ARN"],
            EXPRESS_INFRASTRUCTURE_ROLE_ARN=os.environ["EXPRESS_TEST_INFRASTRUCTURE_ROLE_ARN"],
            EXPRESS_SERVICE=os.environ.get("EXPRESS_TEST_SERVICE", "learinal-backend-test"),
        )
    if os.environ.get(f"{prefix}_TEST_SECRET_FROM"):
        overrides["AWS_SECRET_FROM"] = os.environ[f"{prefix}_TEST_SECRET_FROM"]
    settings = load_settings(env, overrides=overrides)
    images = {t: os.environ.get(f"{prefix}_TEST_IMAGE_{t.upper()}") for t in ("v1", "v2", "bad")}
    return settings, {t: Release(env, f"test-{t}", ref) for t, ref in images.items() if ref}


def deploy(settings, release) -> int:
    try:
        commands.deploy(settings, Runner(), release=release, gates=False, watch=False)
    except ShipwrightError as exc:
        return int(exc.exit_code)
    return 0


@pytest.mark.parametrize("target", ["apprunner", "ecs-express"])
def test_deploy_then_a_bad_release_is_rolled_back_by_the_platform(target):
    settings, releases = real(target)
    assert deploy(settings, releases["v1"]) == 0
    assert deploy(settings, releases["v2"]) == 0
    with opened(settings, Runner(), staging=False) as dep:
        assert dep.target.current().image.endswith(releases["v2"].image.split("@")[1])
        assert dep.app_url  # App Runner's default domain / the Express endpoint
    if "bad" in releases:
        assert deploy(settings, releases["bad"]) == ExitCode.RESTORED
    commands.rollback(settings, Runner(), reason="real suite")
