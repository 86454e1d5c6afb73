"""The ECS deploy paths the local endpoint cannot show, driven through the whole flow
(``invoke deploy``'s code: lock, deploy, verify, record, prune) with ECS answering from
Stubber sequences in AWS's documented shapes (ecsstub.py). S3 (lock, ledger), SSM
(secret references) and CloudWatch Logs (last log lines) are the real local endpoint.

Proven here: success means SUCCESSFUL *and* the PRIMARY runs the registered revision;
circuit-breaker and alarm rollbacks exit 3 with the ledger saying "restored" and the
serving revision never deregistered; ROLLBACK_FAILED exits 4; a timeout and Ctrl-C ask
ECS to roll back (StopServiceDeployment ROLLBACK); the legacy rolloutState path;
stopped tasks reported with reason, exit code, last log lines and the likely issue.
"""

from __future__ import annotations

import pytest
from ecsstub import NOW, EcsScript, sd, stopped_task, td
from support.ecsworld import release
from support.faketime import FakeTime

from shipwright.aws.clients import AwsClients
from shipwright.errors import ExitCode, ShipwrightError
from shipwright.flow import commands
from shipwright.flow.session import opened
from shipwright.runner import Runner
from shipwright.targets.ecs.target import EcsTarget

pytestmark = pytest.mark.integration


@pytest.fixture
def script(ecs_world):
    with EcsScript(ecs_world.moto.url) as s:
        yield s


def run_deploy(world, script, time_=None, **extra):
    """The exit code and the ledger's newest entry of ``invoke deploy`` of v2 over v1."""
    settings = world.settings(**extra)
    time_ = time_ or FakeTime()
    clients = AwsClients(settings, clients={"ecs": script.client})
    target = EcsTarget(
        settings, Runner(echo=False), clients=clients, clock=time_.clock, sleep=time_.sleep
    )
    try:
        commands.deploy(
            settings,
            Runner(echo=False),
            release=release("v2"),
            gates=False,
            watch=False,
            target=target,
        )
        code = 0
    except ShipwrightError as exc:
        code = int(exc.exit_code)
    with opened(world.settings(), Runner(echo=False), staging=False) as dep:
        entry = dep.ledger.history(limit=1)[0]
    return code, entry, clients


def begin(script) -> None:
    """v1 (revision 1) serves; the deploy registers revision 2 and updates the service."""
    script.service(td(1), current=sd(1))  # the flow: what serves
    script.taskdef(td(1), "v1")
    script.service(td(1), current=sd(1))  # the target: before the update
    script.register_flow(1, "v1", 2)
    script.update(td(2), current=sd(2))


def test_success_is_successful_and_the_primary_on_the_new_revision(ecs_world, script, capsys):
    begin(script)
    script.deployment(sd(2), "IN_PROGRESS", stage="SCALE_UP", running=0)
    script.deployment(sd(2), "IN_PROGRESS", stage="BAKE_TIME", running=2)
    script.deployment(sd(2), "SUCCESSFUL", stage="CLEAN_UP", running=2)
    script.service(td(2), current=sd(2))  # the tracker: the PRIMARY runs revision 2
    script.service(td(2), current=sd(2))  # the flow's verify
    script.taskdef(td(2), "v2")
    script.service(td(2), current=sd(2))  # retention: what runs
    script.family(td(2), td(1))
    script.taskdef(td(1), "v1")  # v1 may be rolled back to: kept
    code, entry, clients = run_deploy(ecs_world, script)
    script.done()
    assert code == 0 and entry.result == "succeeded"
    out = capsys.readouterr().out
    assert "IN_PROGRESS SCALE_UP: running 0/2" in out and "BAKE_TIME" in out
    assert clients.calls["ecs.DeregisterTaskDefinition"] == 0


def test_steady_after_ecs_rolled_back_is_not_a_success(ecs_world, script):
    """SUCCESSFUL alone is not enough (the services-stable waiter's mistake): the
    PRIMARY runs revision 1 again, so the deploy is "restored", exit 3."""
    begin(script)
    script.deployment(sd(2), "SUCCESSFUL", running=2)
    script.service(td(1), current=sd(2))
    script.stopped_tasks([])
    code, entry, _ = run_deploy(ecs_world, script)
    script.done()
    assert (code, entry.result) == (ExitCode.RESTORED, "restored")


def test_circuit_breaker_rollback_exits_3_restored_and_keeps_the_serving_revision(
    ecs_world, script, capsys
):
    ecs_world.write_logs(
        "task0failed1",
        ["server starting", "Error: MONGO_URI environment variable is required", "exiting"],
    )
    failed = stopped_task(
        "task0failed1",
        2,
        "Essential container in task exited",
        app_exit=1,
    )
    begin(script)
    script.deployment(sd(2), "IN_PROGRESS", stage="SCALE_UP", running=0, failures=1)
    script.stopped_tasks([failed])
    script.deployment(
        sd(2),
        "ROLLBACK_IN_PROGRESS",
        running=0,
        failures=3,
        breaker="TRIGGERED",
        rollback="Circuit Breaker",
    )
    script.stopped_tasks([failed], known=True)
    script.deployment(
        sd(2),
        "ROLLBACK_SUCCESSFUL",
        running=0,
        failures=3,
        breaker="TRIGGERED",
        reason="ECS deployment circuit breaker: tasks failed to start.",
        rollback="Circuit Breaker",
    )
    script.stopped_tasks([failed], known=True)
    script.service(td(1), current=sd(2))
    script.stopped_tasks([failed], known=True)
    code, entry, clients = run_deploy(ecs_world, script)
    script.done()
    assert (code, entry.result) == (ExitCode.RESTORED, "restored")
    assert "circuit breaker triggered (3/3 tasks failed)" in "; ".join(entry.notes)
    assert clients.calls["ecs.DeregisterTaskDefinition"] == 0  # revision 1 still registered
    out = capsys.readouterr().out
    assert "task task0failed1 stopped: Essential container in task exited" in out
    assert "backend exited 1" in out
    assert "| Error: MONGO_URI environment variable is required" in out
    assert "looks like: missing environment variable" in out


def test_alarm_rollback_exits_3_naming_the_alarm(ecs_world, script):
    begin(script)
    script.deployment(sd(2), "IN_PROGRESS", stage="BAKE_TIME", running=2)
    script.deployment(
        sd(2),
        "ROLLBACK_SUCCESSFUL",
        running=2,
        alarms="TRIGGERED",
        triggered=["learinal-5xx"],
        rollback="CloudWatch alarm",
    )
    script.service(td(1), current=sd(2))
    script.stopped_tasks([])
    code, entry, _ = run_deploy(ecs_world, script)
    script.done()
    assert (code, entry.result) == (ExitCode.RESTORED, "restored")
    assert "alarm(s) learinal-5xx triggered" in "; ".join(entry.notes)


def test_rollback_failed_exits_4_broken(ecs_world, script):
    begin(script)
    script.deployment(sd(2), "ROLLBACK_IN_PROGRESS", running=0, failures=3, breaker="TRIGGERED")
    script.stopped_tasks([])
    script.deployment(
        sd(2),
        "ROLLBACK_FAILED",
        running=0,
        failures=3,
        breaker="TRIGGERED",
        reason="rollback could not place tasks",
    )
    script.stopped_tasks([])
    script.service(td(2), current=sd(2))
    script.stopped_tasks([])
    code, entry, _ = run_deploy(ecs_world, script)
    script.done()
    assert (code, entry.result) == (ExitCode.BROKEN, "broken")
    assert "ROLLBACK_FAILED" in "; ".join(entry.notes)


def test_a_timeout_asks_ecs_to_roll_back_and_waits_for_the_previous_revision(ecs_world, script):
    begin(script)
    for _ in range(5):  # t = 0, .25, .5, .75, 1.0: then ECS_DEPLOY_TIMEOUT=1 has passed
        script.deployment(sd(2), "IN_PROGRESS", stage="SCALE_UP", running=1)
    script.stop(sd(2))  # StopServiceDeployment, stopType ROLLBACK (parameters checked)
    script.deployment(sd(2), "ROLLBACK_IN_PROGRESS", running=1)
    script.deployment(sd(2), "ROLLBACK_SUCCESSFUL", running=0)
    script.service(td(1), current=sd(2))
    script.stopped_tasks([])
    code, entry, _ = run_deploy(ecs_world, script, ECS_DEPLOY_TIMEOUT="1", ECS_POLL_SECONDS="0.25")
    script.done()
    assert (code, entry.result) == (ExitCode.RESTORED, "restored")
    assert "not done after 1s (ECS_DEPLOY_TIMEOUT)" in "; ".join(entry.notes)


def test_ctrl_c_asks_ecs_to_roll_back(ecs_world, script):
    begin(script)
    script.deployment(sd(2), "IN_PROGRESS", stage="SCALE_UP", running=1)
    script.stop(sd(2))
    script.deployment(sd(2), "ROLLBACK_SUCCESSFUL", running=0)
    script.service(td(1), current=sd(2))
    script.stopped_tasks([])
    code, entry, _ = run_deploy(ecs_world, script, FakeTime(interrupt_after=0))
    script.done()
    assert (code, entry.result) == (ExitCode.RESTORED, "restored")
    assert "interrupted (Ctrl-C)" in "; ".join(entry.notes)


def old(running: int, state: str = "COMPLETED", revision: int = 1) -> dict:
    """A deployment beside the PRIMARY one (DescribeServices ``deployments[]``)."""
    return {
        "id": f"ecs-svc/{revision}0",
        "status": "ACTIVE",
        "taskDefinition": td(revision),
        "desiredCount": 2,
        "runningCount": running,
        "pendingCount": 0,
        "failedTasks": 0 if state == "COMPLETED" else 3,
        "rolloutState": state,
        "createdAt": NOW,
    }


def test_legacy_rollout_state_circuit_breaker_rollback(ecs_world, script, capsys):
    """No currentServiceDeployment (older API, or regions without it): the tracker reads
    deployments[].rolloutState; ECS's own rollback deployment ends it as restored."""
    script.service(td(1))
    script.taskdef(td(1), "v1")
    script.service(td(1))
    script.register_flow(1, "v1", 2)
    script.update(td(2), others=[old(2)])
    script.service(td(2), rollout="IN_PROGRESS", running=0, others=[old(2)])
    script.service(td(2), rollout="FAILED", running=0, others=[old(2)])  # ECS rolls back next
    script.service(td(1), rollout="IN_PROGRESS", running=1, others=[old(0, "FAILED", 2)])
    script.stopped_tasks([])  # revision 2 has failed tasks: they are looked for
    script.service(td(1), rollout="COMPLETED", running=2)
    code, entry, _ = run_deploy(ecs_world, script)
    script.done()
    assert (code, entry.result) == (ExitCode.RESTORED, "restored")
    assert "ECS rolled back" in "; ".join(entry.notes)
    assert "could not be read" not in capsys.readouterr().out


def test_blue_green_stages_are_followed_to_success(ecs_world, script, capsys):
    begin(script)
    for stage in ("SCALE_UP", "TEST_TRAFFIC_SHIFT", "PRODUCTION_TRAFFIC_SHIFT", "BAKE_TIME"):
        script.deployment(sd(2), "IN_PROGRESS", stage=stage, running=2)
    script.deployment(sd(2), "SUCCESSFUL", stage="CLEAN_UP", running=2)
    script.service(td(2), current=sd(2), strategy="BLUE_GREEN")
    script.service(td(2), current=sd(2), strategy="BLUE_GREEN")
    script.taskdef(td(2), "v2")
    script.service(td(2), current=sd(2))
    script.family(td(2), td(1))
    script.taskdef(td(1), "v1")
    code, entry, _ = run_deploy(ecs_world, script)
    script.done()
    assert code == 0 and entry.result == "succeeded"
    out = capsys.readouterr().out
    assert "PRODUCTION_TRAFFIC_SHIFT" in out and "BAKE_TIME" in out
