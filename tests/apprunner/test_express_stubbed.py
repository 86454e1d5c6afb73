"""The ECS Express Mode target through the whole flow, ECS answering from Stubber
sequences in AWS's documented shapes (expressstub.py: requests and responses checked
against botocore's ECS model, Express Mode calls included). S3 (lock, ledger), SSM
(secret references) and CloudWatch Logs are the real local endpoint; verify's health
and smoke checks are real HTTP to a local app.

Proven here: the first deploy creates the service (roles, image by digest, port, health
check path from HEALTH_PATHS, variables and secret references, cpu/memory, scaling); an
update is followed through DescribeServiceDeployments to SUCCESSFUL with the PRIMARY on
the new revision; a canary rolled back by its alarm is exit 3 "restored"; ROLLBACK_FAILED
is exit 4; a deploy that never finishes asks ECS to roll back (StopServiceDeployment);
rollback goes to the ledger's last good image; the endpoint becomes the app's URL; one-off
commands run through the ECS target's run-task with the service's task definition and
network. What only real Express Mode shows (the real canary, real alarms): the real suite.
"""

from __future__ import annotations

import pytest
from arkit import FakeTime, deploy, newest, record_good, rollback, target_for
from support.expressstub import ENDPOINT, RUN_FAMILY, ExpressScript, rev, sd, td
from support.runnerworld import ROLE, pinned, release

from shipwright.errors import ExitCode
from shipwright.targets.ecs_express.target import ExpressTarget

pytestmark = pytest.mark.integration


@pytest.fixture
def script(world):
    with ExpressScript(world.moto.url) as s:
        yield s


def target(world, script, time_=None, **extra):
    settings = world.settings("ecs-express", **extra)
    return settings, target_for(ExpressTarget, settings, "ecs", script.client, time_)


def begin(script) -> None:
    """v1 (revision 1) serves; the deploy updates the service to v2 (revision 2)."""
    script.service(1, current=1)  # the flow: what serves
    script.taskdef(1, "v1")
    script.service(1, current=1)  # the target: before the update
    script.taskdef(1, "v1")
    script.update(2, "v2")
    script.revision(2)
    script.taskdef(2, "v2")
    script.service(1, current=2)  # the tracker: the update's service deployment


def finish(script, primary: int, tag: str) -> None:
    """The tracker's last look, the flow's verify, and retention's look at our family."""
    script.service(primary, current=2)
    script.service(primary, current=2)
    script.taskdef(primary, tag)
    script.family()


def test_the_first_deploy_creates_the_service(world, script):
    settings, t = target(world, script)
    script.service(None)  # the flow: nothing serves
    script.service(None)  # the target: no service yet
    script.create(1, "v1")
    script.revision(1)
    script.taskdef(1, "v1")
    script.deployment(1, "IN_PROGRESS", stage="SCALE_UP")
    script.deployment(1, "SUCCESSFUL", stage="CLEAN_UP")
    script.service(1, current=1)
    script.service(1, current=1)  # verify
    script.taskdef(1, "v1")
    script.family()
    code, why = deploy(settings, t, release("v1"))
    script.done()
    assert code == 0, why
    [sent] = script.sent("CreateExpressGatewayService")
    assert sent["serviceName"] == "learinal-backend-staging" and sent["cluster"] == "default"
    assert sent["executionRoleArn"] == ROLE + "ecsTaskExecutionRole"
    assert sent["infrastructureRoleArn"] == ROLE + "ecsInfrastructureRoleForExpressServices"
    container = sent["primaryContainer"]
    assert container["image"] == pinned("v1") and container["containerPort"] == 3000
    assert sent["healthCheckPath"] == "/health"  # the first of HEALTH_PATHS
    env = {e["name"]: e["value"] for e in container["environment"]}
    refs = {s["name"]: s["valueFrom"] for s in container["secrets"]}
    assert env["APP_VERSION"] == "v1" and "MONGO_URI" not in env
    assert refs["MONGO_URI"].startswith("arn:aws:ssm:")
    assert (sent["cpu"], sent["memory"]) == ("1024", "2048")
    assert sent["scalingTarget"] == {
        "minTaskCount": 1,
        "maxTaskCount": 4,
        "autoScalingMetric": "AVERAGE_CPU",
        "autoScalingTargetValue": 60,
    }
    assert newest(settings).result == "succeeded"


def test_a_first_deploy_without_its_roles_is_refused_before_anything_is_created(world, script):
    settings, t = target(world, script, EXPRESS_INFRASTRUCTURE_ROLE_ARN="")
    script.service(None)
    script.service(None)
    code, why = deploy(settings, t, release("v1"))
    assert code == ExitCode.BAD_INPUT and "EXPRESS_INFRASTRUCTURE_ROLE_ARN" in why
    assert script.sent("CreateExpressGatewayService") == []


def test_an_update_is_followed_to_successful_with_the_primary_on_the_new_revision(
    world, script, capsys
):
    settings, t = target(world, script)
    begin(script)
    script.deployment(2, "IN_PROGRESS", stage="TEST_TRAFFIC_SHIFT")
    script.deployment(2, "IN_PROGRESS", stage="BAKE_TIME")
    script.deployment(2, "SUCCESSFUL", stage="CLEAN_UP")
    finish(script, 2, "v2")
    code, why = deploy(settings, t, release("v2"))
    script.done()
    assert code == 0, why
    [sent] = script.sent("UpdateExpressGatewayService")
    assert sent["serviceArn"].endswith("service/default/learinal-backend-staging")
    assert sent["primaryContainer"]["image"] == pinned("v2")
    out = capsys.readouterr().out
    assert "IN_PROGRESS TEST_TRAFFIC_SHIFT" in out and "BAKE_TIME" in out


def test_a_canary_its_alarm_rolled_back_is_exit_3_restored(world, script):
    settings, t = target(world, script)
    begin(script)
    script.deployment(2, "IN_PROGRESS", stage="TEST_TRAFFIC_SHIFT")
    script.deployment(2, "ROLLBACK_IN_PROGRESS", alarms="TRIGGERED", rollback="CloudWatch alarm")
    script.deployment(2, "ROLLBACK_SUCCESSFUL", alarms="TRIGGERED", rollback="CloudWatch alarm")
    script.service(1, current=2)  # the PRIMARY runs revision 1 again
    script.stopped_tasks()
    code, why = deploy(settings, t, release("v2"))
    script.done()
    assert code == ExitCode.RESTORED, why
    entry = newest(settings)
    assert entry.result == "restored"
    assert "alarm(s) learinal-backend-staging-4xx-5xx triggered" in "; ".join(entry.notes)


def test_rollback_failed_is_exit_4_broken(world, script):
    settings, t = target(world, script)
    begin(script)
    script.deployment(2, "ROLLBACK_FAILED", alarms="TRIGGERED", reason="tasks failed to start")
    script.service(2, current=2)
    script.stopped_tasks()
    code, why = deploy(settings, t, release("v2"))
    script.done()
    assert code == ExitCode.BROKEN, why
    assert newest(settings).result == "broken"


def test_a_deploy_that_never_finishes_asks_ecs_to_roll_back(world, script):
    time_ = FakeTime()
    settings, t = target(world, script, time_, EXPRESS_DEPLOY_TIMEOUT="20")
    begin(script)
    for _ in range(3):  # at 0, 10, 20 s
        script.deployment(2, "IN_PROGRESS", stage="BAKE_TIME")
    script.stop(2)
    script.deployment(2, "ROLLBACK_SUCCESSFUL", rollback="stopped by shipwright")
    script.service(1, current=2)
    script.stopped_tasks()
    code, why = deploy(settings, t, release("v2"))
    script.done()
    assert code == ExitCode.RESTORED, why
    assert "not done after 20s (EXPRESS_DEPLOY_TIMEOUT)" in why
    assert len(script.sent("StopServiceDeployment")) == 1
    assert newest(settings).result == "restored"


def test_rollback_updates_to_the_ledgers_last_good_image(world, script):
    settings, t = target(world, script)
    record_good(settings, release("v1"))
    record_good(settings, release("v2"))
    for _ in range(2):  # the flow: what serves, before and under the lock
        script.service(2, current=2)
        script.taskdef(2, "v2")
    script.service(2, current=2)  # the target
    script.taskdef(2, "v2")
    script.update(3, "v1")
    script.revision(3)
    script.taskdef(3, "v1")
    script.service(2, current=3)
    script.deployment(3, "SUCCESSFUL")
    script.service(3, current=3)
    script.service(3, current=3)  # verify
    script.taskdef(3, "v1")
    script.family()
    code, why = rollback(settings, t)
    script.done()
    assert code == 0, why
    assert script.sent("UpdateExpressGatewayService")[0]["primaryContainer"]["image"] == pinned(
        "v1"
    )
    assert (newest(settings).action, newest(settings).version) == ("rollback", "v1")


def test_the_endpoint_is_the_apps_url(world, script):
    settings, t = target(world, script, APP_URL="")
    script.service(1, current=1)
    script.describe_express(1, "v1")
    assert t.app_url() == f"https://{ENDPOINT}"
    assert t.app_url() == f"https://{ENDPOINT}"  # asked once
    script.done()


def test_run_uses_the_services_task_definition_and_network(world, script):
    settings, t = target(world, script)
    script.service(1, current=1)
    script.taskdef(1, "v1")
    script.one_off(td(1), 0)
    result = t.run(release("v1"), ["node", "scripts/check.js"])
    script.done()
    assert result.exit_code == 0
    [sent] = script.sent("RunTask")
    assert sent["taskDefinition"] == td(1) and sent["cluster"] == "default"
    assert sent["networkConfiguration"]["awsvpcConfiguration"]["subnets"] == ["subnet-0a1b2c3d"]
    assert sent["overrides"]["containerOverrides"][0] == {
        "name": "Main",
        "command": ["node", "scripts/check.js"],
    }


def test_run_in_a_release_that_does_not_serve_yet_registers_a_copy_in_our_family(world, script):
    settings, t = target(world, script)
    script.service(1, current=1)
    script.taskdef(1, "v1")
    script.family()  # no revision of ours runs v2 yet
    script.family()  # (the newest to compare with: none)
    script.registered(1)
    script.one_off(td(1, RUN_FAMILY), 3)
    result = t.run(release("v2"), ["node", "migrate.js"])
    script.done()
    assert result.exit_code == 3
    [registered] = script.sent("RegisterTaskDefinition")
    assert registered["family"] == RUN_FAMILY
    [app] = registered["containerDefinitions"]
    assert app["image"] == pinned("v2")
    assert {"name": "APP_VERSION", "value": "v2"} in app["environment"]
    assert all(s["valueFrom"].startswith("arn:") for s in app["secrets"])


def test_status_shows_deployments_and_the_express_configuration(world, script):
    settings, t = target(world, script)
    script.service(1, current=1)
    script.taskdef(1, "v1")  # what serves
    script.taskdef(1, "v1")  # the version of each deployment's revision
    script.describe_express(1, "v1")
    script.deployment(1, "SUCCESSFUL")
    state = t.status()
    script.done()
    assert state.serving.version == "v1" and state.rows[0][0] == "PRIMARY"
    text = "\n".join(state.notes)
    assert "express: ACTIVE" in text and f"PUBLIC {ENDPOINT}" in text
    assert rev(1).rsplit("/", 1)[-1] in text and sd(1)


def test_prune_drops_our_unneeded_one_off_copies_only(world, script):
    settings, t = target(world, script)
    old, kept = td(1, RUN_FAMILY), td(2, RUN_FAMILY)
    script.family(kept, old)  # is there anything of ours?
    script.service(3, current=3)  # the app container's name, from what serves
    script.taskdef(3, "v2")
    script.family(kept, old)
    for n, tag in ((2, "v2"), (1, "v1")):
        script.taskdef(n, tag, family=RUN_FAMILY)
    script.stub.add_response("deregister_task_definition", {"taskDefinition": {}})
    t.prune([pinned("v2")])
    script.done()
    assert [p["taskDefinition"] for p in script.sent("DeregisterTaskDefinition")] == [old]
