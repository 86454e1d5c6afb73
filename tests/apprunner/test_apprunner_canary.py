"""No secret value in anything the App Runner and Express targets send or keep: a
canary in every secret variable (tests/test_canary.py's), a deploy through the flow on
each target (Stubber-answered), then every request sent to App Runner / ECS, every
ledger and lock object in S3 (the local endpoint) and all output is searched for it."""

from __future__ import annotations

import json

import pytest
from arkit import deploy, target_for
from support.arstub import AppRunnerScript
from support.expressstub import ExpressScript
from support.runnerworld import APP, BUCKET, release
from test_canary import CANARIES, CANARY

from shipwright.targets.apprunner.target import AppRunnerTarget
from shipwright.targets.ecs_express.target import ExpressTarget

pytestmark = pytest.mark.integration


def stored(world) -> list[str]:
    s3 = world.client("s3")
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix=f"shipwright/{APP}/staging/")
    return [
        s3.get_object(Bucket=BUCKET, Key=item["Key"])["Body"].read().decode()
        for item in listed.get("Contents", [])
    ]


def test_no_canary_reaches_app_runner_the_ledger_or_the_output(world, capsys):
    settings = world.settings("apprunner", **CANARIES)
    with AppRunnerScript(world.moto.url) as script:
        t = target_for(AppRunnerTarget, settings, "apprunner", script.client)
        script.describe("v1")
        script.describe("v1")
        script.update(1, "v2")
        script.operation(1, "SUCCEEDED")
        script.describe("v2")
        script.describe("v2")
        code, why = deploy(settings, t, release("v2"))
        assert code == 0, why
        sent = json.dumps(script.requests, default=str)
    config = script.sent("UpdateService")[0]["SourceConfiguration"]["ImageRepository"]
    assert "MONGO_URI" in config["ImageConfiguration"]["RuntimeEnvironmentSecrets"]
    assert CANARY not in sent
    assert stored(world) and all(CANARY not in body for body in stored(world))
    assert CANARY not in capsys.readouterr().out


def test_no_canary_reaches_express_the_ledger_or_the_output(world, capsys):
    settings = world.settings("ecs-express", **CANARIES)
    with ExpressScript(world.moto.url) as script:
        t = target_for(ExpressTarget, settings, "ecs", script.client)
        script.service(None)
        script.service(None)
        script.create(1, "v1")
        script.revision(1)
        script.taskdef(1, "v1")
        script.deployment(1, "SUCCESSFUL")
        script.service(1, current=1)
        script.service(1, current=1)
        script.taskdef(1, "v1")
        script.family()
        code, why = deploy(settings, t, release("v1"))
        assert code == 0, why
        sent = json.dumps(script.requests, default=str)
    assert "valueFrom" in sent and CANARY not in sent
    assert stored(world) and all(CANARY not in body for body in stored(world))
    assert CANARY not in capsys.readouterr().out
