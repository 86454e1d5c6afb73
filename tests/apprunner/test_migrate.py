"""``invoke apprunner.migrate``: the move from App Runner to ECS Express Mode.

The plan is built from a realistic DescribeService answer (image by digest, plain
variables -- one of them a secret kept as a plain value --, secret references, an HTTP
health check, 1 vCPU / 2 GB, an auto scaling configuration and a VPC connector), App
Runner answering from Stubber sequences (arstub.py). Proven: the plan maps each of
them, masks the secret, and changes nothing without --write/--apply; --write puts them
in the environment's files (the secret-adjacent ones in the .local file); --apply
creates the Express service beside App Runner's (ECS answering from expressstub.py),
deploys the same release through the one flow, verifies and smoke-tests it on its own
endpoint, and prints the cut-over and the way back -- while every App Runner call is a
read. S3, SSM and the local app are real (the endpoint in the Express answer points at
the local app, so verify's HTTP stays on 127.0.0.1).
"""

from __future__ import annotations

import pytest
from arkit import FakeTime, exit_code
from helpers import ROOT, project_root
from support.arstub import URL, AppRunnerScript
from support.expressstub import ExpressScript
from support.runnerworld import pinned

from shipwright.aws.clients import AwsClients
from shipwright.errors import ExitCode
from shipwright.runner import Runner
from shipwright.settings import load_settings
from shipwright.targets.apprunner import commands
from shipwright.targets.ecs_express.target import ExpressTarget

pytestmark = pytest.mark.integration
PLAIN_SECRET = "whsec_plainvalue123456"


@pytest.fixture
def script(world):
    with AppRunnerScript(world.moto.url) as s:
        yield s


def realistic(script) -> None:
    script.describe(
        "v1", vpc=True, variables={"FEATURE_FLAGS": "beta", "STRIPE_WEBHOOK_SECRET": PLAIN_SECRET}
    )
    script.scaling()
    script.connector()


def project(tmp_path):
    """A project root with this project's schema and env files (no .local file)."""
    root = project_root(tmp_path)
    for name in (".env", ".env.staging"):
        (root / "envs" / name).write_text((ROOT / "envs" / name).read_text())
    return root


def settings_in(world, root, **extra):
    return load_settings(
        "staging",
        root=root,
        overrides=world.overrides("apprunner", **extra),
        environ=world.moto.env(),
    )


def migrate(world, script, settings, **kw):
    clients = AwsClients(settings, clients={"apprunner": script.client})
    return commands.migrate(settings, Runner(echo=False), clients=clients, **kw)


def test_the_plan_maps_a_realistic_service_and_changes_nothing(world, script, tmp_path, capsys):
    root = project(tmp_path)
    settings = settings_in(world, root)
    realistic(script)
    plan = migrate(world, script, settings)
    script.done()
    assert plan.release.image == pinned("v1") and plan.release.version == "v1"
    assert plan.settings == {
        "FEATURE_FLAGS": "beta",
        "EXPRESS_TASK_ROLE_ARN": "arn:aws:iam::123456789012:role/learinal-backend-instance",
        "EXPRESS_MIN_TASKS": "2",
        "EXPRESS_MAX_TASKS": "10",
        "EXPRESS_SUBNETS": "subnet-0a1b2c3d,subnet-4e5f6a7b",
        "EXPRESS_SECURITY_GROUPS": "sg-0123abcd",
    }  # port 3000, /health, 1024/2048: the Express defaults already say so
    assert plan.local == {"STRIPE_WEBHOOK_SECRET": PLAIN_SECRET}  # the .local file only
    assert plan.todo == []  # the roles are set
    out = capsys.readouterr().out
    assert PLAIN_SECRET not in out and "STRIPE_WEBHOOK_SECRET=********" in out
    assert "App Runner scales on concurrency (80 requests per instance)" in out
    assert "secrets by reference: JWT_SECRET, MONGO_URI" in out
    assert "nothing changed" in out
    assert (root / "envs" / ".env.staging").read_text() == (
        ROOT / "envs" / ".env.staging"
    ).read_text()
    assert not (root / "envs" / ".env.staging.local").exists()
    assert {name for name, _ in script.requests} == {
        "DescribeService",
        "DescribeAutoScalingConfiguration",
        "DescribeVpcConnector",
    }


def test_write_puts_the_settings_in_the_files_and_the_secret_in_the_local_one(
    world, script, tmp_path
):
    root = project(tmp_path)
    realistic(script)
    migrate(world, script, settings_in(world, root), write=True)
    tracked = (root / "envs" / ".env.staging").read_text()
    local = (root / "envs" / ".env.staging.local").read_text()
    assert "EXPRESS_SUBNETS=subnet-0a1b2c3d,subnet-4e5f6a7b" in tracked
    assert "# >>> written by `invoke apprunner.migrate`" in tracked
    assert PLAIN_SECRET not in tracked and f"STRIPE_WEBHOOK_SECRET={PLAIN_SECRET}" in local
    again = settings_in(world, root)  # the files load, and say what the plan said
    assert again["EXPRESS_MAX_TASKS"] == "10" and again["DEPLOY_TARGET"] == "apprunner"


def test_apply_refuses_while_something_is_missing(world, script, tmp_path):
    root = project(tmp_path)
    settings = settings_in(world, root, EXPRESS_INFRASTRUCTURE_ROLE_ARN="")
    realistic(script)
    code, why = exit_code(migrate, world, script, settings, apply=True)
    assert code == ExitCode.BAD_INPUT and "EXPRESS_INFRASTRUCTURE_ROLE_ARN" in why
    assert "apprunner.migrate" not in (root / "envs" / ".env.staging").read_text()


def test_apply_creates_the_express_service_beside_and_prints_the_cut_over(
    world, script, tmp_path, capsys
):
    root = project(tmp_path)
    settings = settings_in(world, root)
    realistic(script)
    script.domains("api.learinal.example")
    with ExpressScript(world.moto.url) as ecs:
        local = world.app.url  # the endpoint the Express answer names (see the docstring)
        shape = ecs.configuration

        def configuration(n, tag):
            made = shape(n, tag)
            made["ingressPaths"] = [{"accessType": "PUBLIC", "endpoint": local}]
            return made

        ecs.configuration = configuration
        ecs.service(None)  # the flow: nothing serves on Express yet
        ecs.service(None)  # the target: no service: create it
        ecs.create(1, "v1")
        ecs.revision(1)
        ecs.taskdef(1, "v1")
        ecs.deployment(1, "SUCCESSFUL")
        ecs.service(1, current=1)
        ecs.service(1, current=1)  # the app's URL (asked first): the Express endpoint
        ecs.describe_express(1, "v1")
        ecs.service(1, current=1)  # verify
        ecs.taskdef(1, "v1")
        ecs.family()

        def express(on_express):
            time_ = FakeTime()
            clients = AwsClients(on_express, clients={"ecs": ecs.client})
            return ExpressTarget(
                on_express,
                Runner(echo=False),
                clients=clients,
                clock=time_.clock,
                sleep=time_.sleep,
            )

        migrate(world, script, settings, apply=True, express=express)
        ecs.done()
        [created] = ecs.sent("CreateExpressGatewayService")
    script.done()
    assert created["primaryContainer"]["image"] == pinned("v1")
    assert created["scalingTarget"]["minTaskCount"] == 2
    assert created["networkConfiguration"]["subnets"] == ["subnet-0a1b2c3d", "subnet-4e5f6a7b"]
    assert created["taskRoleArn"].endswith("role/learinal-backend-instance")
    out = capsys.readouterr().out
    assert "verify: GET /health" in out and "verify: smoke: health" in out
    assert f"v1 serves on Express at {local}" in out
    assert f"point api.learinal.example at {local} instead of https://{URL}" in out
    assert "rollback path:" in out and "set DEPLOY_TARGET=apprunner again" in out
    assert {name for name, _ in script.requests} <= {
        "DescribeService",
        "DescribeAutoScalingConfiguration",
        "DescribeVpcConnector",
        "DescribeCustomDomains",
    }  # App Runner's service is only read
    assert "EXPRESS_MIN_TASKS=2" in (root / "envs" / ".env.staging").read_text()
