"""The ECS target on the local AWS endpoint (moto server with its UpdateService
corrected, tests/support/moto_ecs_primary.py): a Fargate service in a cluster, the
lock and ledger in S3, secrets in SSM, logs in CloudWatch Logs.

moto has no circuit breaker and never runs a task's containers, so two cases are
proven with Stubber sequences instead (named in ``unsupported``)."""

from __future__ import annotations

import pytest
from harness import Harness
from helpers import require
from support.ecsworld import EcsMoto, EcsWorld, aws_environ, release

from shipwright.errors import ExitCode

STUBBED = "tests/ecs/test_ecs_stubbed.py::"
RUN_STUBBED = "tests/ecs/test_ecs_run_stubbed.py::"


@pytest.fixture(scope="module")
def ecs_harness():
    try:
        moto = EcsMoto()
        moto.start()
    except Exception as exc:  # noqa: BLE001 - the reason is printed (a failure in CI)
        require(False, f"the local AWS endpoint (moto) cannot start: {exc}")
    try:
        with aws_environ(moto):
            world = EcsWorld(moto).build()
            world.write_logs("conformance00", ["conformance: the app's own log line"])
            yield Harness(
                "ecs",
                world.settings(),
                (release("v1"), release("v2")),
                release("bad"),
                bad_exit=ExitCode.RESTORED,  # the circuit breaker rolls back: exit 3
                unsupported={
                    "test_a_failed_deploy_leaves_the_previous_release_serving": (
                        "moto has no deployment circuit breaker (nothing ever fails); "
                        f"proven by {STUBBED}"
                        "test_circuit_breaker_rollback_exits_3_restored_and_keeps_the_serving_revision"
                    ),
                    "test_run_returns_the_commands_real_exit_code_and_output": (
                        "moto stops one-off tasks without running their containers (no exit "
                        f"code); proven by {RUN_STUBBED}"
                        "test_the_apps_exit_code_and_logs_are_the_result"
                    ),
                },
            )
    finally:
        moto.stop()
