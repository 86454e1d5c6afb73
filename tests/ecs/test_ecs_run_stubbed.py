"""One-off tasks (``Target.run``) and CodeDeploy services, with ECS/CodeDeploy answering
from Stubber sequences in AWS's documented shapes: moto's tasks never run their
containers and its CodeDeploy deployments stay "Created". CloudWatch Logs is the real
local endpoint (the app's lines are written there as the awslogs driver would)."""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber
from ecsstub import EcsScript, stopped_task, task_arn, td
from support.ecsworld import release

from shipwright.aws.clients import AwsClients
from shipwright.runner import Runner
from shipwright.targets.ecs.target import EcsTarget

pytestmark = pytest.mark.integration


@pytest.fixture
def script(ecs_world):
    with EcsScript(ecs_world.moto.url) as s:
        yield s


CODEDEPLOY = {"ECS_CODEDEPLOY_APPLICATION": "learinal", "ECS_CODEDEPLOY_GROUP": "production"}


def target(world, script, settings=None, **clients):
    settings = settings or world.settings(**CODEDEPLOY)
    given = AwsClients(settings, clients={"ecs": script.client, **clients})
    return EcsTarget(settings, Runner(echo=False), clients=given)


def run_v1(world, script, *answers: dict):
    """``run`` in v1's revision: found among the family, the service read, the task
    started, then DescribeTasks answers ``answers`` in turn."""
    script.family(td(1))
    script.taskdef(td(1), "v1")
    script.service(td(1))
    first = answers[0]
    script.run_task({**first, "lastStatus": "PROVISIONING"})
    for answer in answers:
        script.tasks(answer)
    return target(world, script).run(release("v1"), ["sh", "-c", "echo conformance-42; exit 3"])


def test_the_apps_exit_code_and_logs_are_the_result(ecs_world, script):
    ecs_world.write_logs("run0000001", ["conformance-42"])
    done = stopped_task("run0000001", 1, "Essential container in task exited", app_exit=3)
    running = {**done, "lastStatus": "RUNNING"}
    result = run_v1(ecs_world, script, running, done)
    script.done()
    assert result.exit_code == 3 and "conformance-42" in result.output
    assert result.where == task_arn("run0000001")


def test_a_sidecar_exiting_0_does_not_mask_the_apps_exit_1(ecs_world, script, capsys):
    done = stopped_task(
        "run0000002", 1, "Essential container in task exited", app_exit=1, sidecar_exit=0
    )
    result = run_v1(ecs_world, script, done)
    script.done()
    assert result.exit_code == 1
    assert "sidecar log-router exited 0 (not the app's exit code)" in capsys.readouterr().out


def test_a_task_that_fails_to_start_is_reported_with_ecs_reason(ecs_world, script, capsys):
    never = stopped_task(
        "run0000003",
        1,
        "ResourceInitializationError: unable to pull secrets or registry auth: "
        "ssm parameter /learinal/staging/MONGO_URI not found",
        stop_code="TaskFailedToStart",
    )
    result = run_v1(ecs_world, script, never)
    script.done()
    assert result.exit_code != 0
    out = capsys.readouterr().out
    assert "TaskFailedToStart" in out and "backend never ran" in out
    assert "looks like: a secret reference could not be read" in out


def test_run_task_refused_by_ecs_is_not_a_success(ecs_world, script, capsys):
    script.family(td(1))
    script.taskdef(td(1), "v1")
    script.service(td(1))
    script.run_task(None, failure="RESOURCE:MEMORY")
    result = target(ecs_world, script).run(release("v1"), ["node", "migrate.js"])
    script.done()
    assert result.exit_code != 0 and "RESOURCE:MEMORY" in capsys.readouterr().out


# -- CodeDeploy (the CODE_DEPLOY deployment controller) -------------------------------------
def codedeploy(world):
    client = boto3.client(
        "codedeploy",
        region_name="us-east-1",
        endpoint_url=world.moto.url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    return client, Stubber(client)


def info(status: str, **extra) -> dict:
    return {"deploymentInfo": {"deploymentId": extra.pop("id", "d-1"), "status": status, **extra}}


def task_set(revision: int) -> dict:
    return {"id": f"ecs-svc/{revision}", "status": "PRIMARY", "taskDefinition": td(revision)}


def test_codedeploy_blue_green_success(ecs_world, script):
    client, stub = codedeploy(ecs_world)
    script.service(td(1), controller="CODE_DEPLOY", task_sets=[task_set(1)])
    script.register_flow(1, "v1", 2)
    stub.add_response("create_deployment", {"deploymentId": "d-1"})
    stub.add_response("get_deployment", info("InProgress"))
    stub.add_response("get_deployment", info("Succeeded"))
    script.service(td(2), controller="CODE_DEPLOY", task_sets=[task_set(2)])
    with stub:
        outcome = target(ecs_world, script, codedeploy=client).deploy(release("v2"))
    script.done()
    stub.assert_no_pending_responses()
    assert outcome.ok and outcome.units["learinal-backend"].startswith("switched")


def test_codedeploy_failure_rolled_back_is_restored(ecs_world, script):
    client, stub = codedeploy(ecs_world)
    script.service(td(1), controller="CODE_DEPLOY", task_sets=[task_set(1)])
    script.register_flow(1, "v1", 2)
    stub.add_response("create_deployment", {"deploymentId": "d-1"})
    failed = info(
        "Failed",
        errorInformation={"code": "HEALTH_CONSTRAINTS", "message": "tasks failed health checks"},
        rollbackInfo={"rollbackDeploymentId": "d-2"},
    )
    stub.add_response("get_deployment", failed)
    script.service(td(1), controller="CODE_DEPLOY", task_sets=[task_set(1)])
    script.stopped_tasks([])
    stub.add_response("get_deployment", info("Succeeded", id="d-2"))
    script.service(td(1), controller="CODE_DEPLOY", task_sets=[task_set(1)])
    with stub:
        outcome = target(ecs_world, script, codedeploy=client).deploy(release("v2"))
    script.done()
    stub.assert_no_pending_responses()
    assert not outcome.ok and outcome.restored
    assert "HEALTH_CONSTRAINTS" in outcome.message


def test_codedeploy_needs_its_application_and_group(ecs_world, script):
    from shipwright.errors import ConfigError

    client, _ = codedeploy(ecs_world)
    script.service(td(1), controller="CODE_DEPLOY", task_sets=[task_set(1)])
    settings = ecs_world.settings()  # no ECS_CODEDEPLOY_*
    with pytest.raises(ConfigError, match="ECS_CODEDEPLOY_APPLICATION"):
        target(ecs_world, script, settings, codedeploy=client).deploy(release("v2"))
    script.done()  # refused before anything was registered
