"""The App Runner and ECS Express Mode targets in the conformance suite. Neither is in
the local endpoint: each is answered by a small model of the service (the state the
contract's cases need: what runs, the operation or deployment in flight) whose every
answer is built in AWS's documented shape and checked against botocore's service model
(tests/support/responder.py). The lock and ledger (S3), the secret references (SSM),
the logs (CloudWatch Logs) are the real local endpoint; verify's health and smoke checks
are real HTTP to a local app. A release tagged ``bad`` never gets healthy: App Runner
rolls its update back (ROLLBACK_SUCCEEDED), Express's canary rolls back (exit 3 both).

What a model cannot show is named in ``unsupported`` with the test that proves it."""

from __future__ import annotations

import pytest
from harness import Harness
from helpers import require
from support import arstub, expressstub
from support.ecsworld import aws_environ
from support.responder import Responder, built
from support.runnerworld import (
    SERVICE_ID,
    SERVICE_NAME,
    LocalApp,
    RunnerWorld,
    pinned,
    release,
    smoke_suite,
)
from support.sandbox import MotoServer

from shipwright.aws.clients import AwsClients
from shipwright.errors import ExitCode
from shipwright.targets.apprunner.target import AppRunnerTarget
from shipwright.targets.ecs_express.target import ExpressTarget

TAGS = ("v1", "v2", "bad")
STUBBED = "tests/apprunner/"


def _tag(image: str) -> str:
    return next(t for t in TAGS if pinned(t) == image)


class AppRunnerModel:
    """One image service: UpdateService starts an operation; the next ListOperations
    ends it (SUCCEEDED, or ROLLBACK_SUCCEEDED for ``bad`` with the old image kept)."""

    def __init__(self, endpoint: str):
        self.script = arstub.AppRunnerScript(endpoint)
        self.tag, self.pending, self.ops = "v1", None, [(0, "CREATE_SERVICE", "SUCCEEDED")]
        Responder(
            self.script.client,
            {
                "DescribeService": self.describe,
                "UpdateService": self.update,
                "ListOperations": self.operations,
            },
        )

    def describe(self, _params):
        status = "OPERATION_IN_PROGRESS" if self.pending else "RUNNING"
        return {"Service": arstub.service_shape(self.tag, status=status)}

    def update(self, params):
        if self.pending:
            raise AssertionError("App Runner takes one operation at a time")
        image = params["SourceConfiguration"]["ImageRepository"]["ImageIdentifier"]
        n = len(self.ops)
        self.pending = (n, _tag(image))
        self.ops.insert(0, (n, "UPDATE_SERVICE", "IN_PROGRESS"))
        return built(self.script, "update", n, self.tag)

    def operations(self, _params):
        if self.pending:
            n, tag = self.pending
            ended = "ROLLBACK_SUCCEEDED" if tag == "bad" else "SUCCEEDED"
            self.tag = self.tag if tag == "bad" else tag
            self.ops[0], self.pending = (n, "UPDATE_SERVICE", ended), None
        answer = built(self.script, "operation", self.ops[0][0], self.ops[0][2], self.ops[0][1])
        return answer


class ExpressModel:
    """One Express service: each update makes a revision and a service deployment; the
    next look at it ends it (SUCCESSFUL, or ROLLBACK_SUCCESSFUL for ``bad``)."""

    def __init__(self, endpoint: str):
        self.script = expressstub.ExpressScript(endpoint)
        self.revisions: dict[int, str] = {}
        self.primary, self.current, self.pending = None, None, None
        Responder(
            self.script.client,
            {
                "DescribeServices": self.services,
                "DescribeTaskDefinition": self.taskdef,
                "CreateExpressGatewayService": self.create,
                "UpdateExpressGatewayService": self.update,
                "DescribeServiceRevisions": self.revision,
                "DescribeServiceDeployments": self.deployment,
                "DescribeExpressGatewayService": self.express,
                "ListTaskDefinitions": lambda _: {"taskDefinitionArns": []},
                "ListTasks": lambda _: {"taskArns": []},
            },
        )

    def services(self, _params):
        return built(self.script, "service", self.primary, current=self.current)

    def taskdef(self, params):
        n = int(params["taskDefinition"].rsplit(":", 1)[-1])
        return built(self.script, "taskdef", n, self.revisions[n])

    def _new(self, params) -> int:
        n = len(self.revisions) + 1
        self.revisions[n] = _tag(params["primaryContainer"]["image"])
        self.current, self.pending = n, n
        return n

    def create(self, params):
        n = self._new(params)
        return built(self.script, "create", n, self.revisions[n])

    def update(self, params):
        n = self._new(params)
        return built(self.script, "update", n, self.revisions[n])

    def revision(self, params):
        return built(self.script, "revision", int(params["serviceRevisionArns"][0].rsplit("/")[-1]))

    def deployment(self, params):
        n = int(params["serviceDeploymentArns"][0].rsplit("sd", 1)[-1])
        if self.pending == n:
            self.pending = None
            if self.revisions[n] != "bad":
                self.primary = n
        ended = "ROLLBACK_SUCCESSFUL" if self.revisions[n] == "bad" else "SUCCESSFUL"
        kind = (
            {"alarms": "TRIGGERED", "rollback": "CloudWatch alarm"} if ended != "SUCCESSFUL" else {}
        )
        return built(self.script, "deployment", n, ended, **kind)

    def express(self, _params):
        return built(self.script, "describe_express", self.primary, self.revisions[self.primary])


@pytest.fixture(scope="module")
def runner_world(tmp_path_factory):
    try:
        moto = MotoServer()
        moto.start()
    except Exception as exc:  # noqa: BLE001 - the reason is printed (a failure in CI)
        require(False, f"the local AWS endpoint (moto) cannot start: {exc}")
    app = LocalApp()
    try:
        with aws_environ(moto):
            world = RunnerWorld(moto, app, smoke_suite(tmp_path_factory.mktemp("smoke"))).build()
            yield world
    finally:
        app.stop()
        moto.stop()


def _cases(target: str) -> dict[str, str]:
    return {
        "test_run_returns_the_commands_real_exit_code_and_output": (
            "App Runner has no one-off tasks (refused with the alternatives): "
            f"{STUBBED}test_apprunner_stubbed.py::test_run_is_refused_naming_the_alternatives"
            if target == "apprunner"
            else "the model runs no containers (no output); run-task with the service's "
            f"definition and network and the app's exit code: {STUBBED}test_express_stubbed.py"
            "::test_run_in_a_release_that_does_not_serve_yet_registers_a_copy_in_our_family"
        ),
    }


@pytest.fixture(scope="module")
def apprunner_harness(runner_world, monkeypatch_module):
    base = f"/aws/apprunner/{SERVICE_NAME}/{SERVICE_ID}"
    runner_world.write_logs(f"{base}/application", "instance/1", ["conformance: app log line"])
    model = AppRunnerModel(runner_world.moto.url)
    _serve(monkeypatch_module, AppRunnerTarget, "apprunner", model.script.client)
    return Harness(
        "apprunner",
        runner_world.settings("apprunner"),
        (release("v1"), release("v2")),
        release("bad"),
        bad_exit=ExitCode.RESTORED,
        unsupported=_cases("apprunner"),
    )


@pytest.fixture(scope="module")
def ecs_express_harness(runner_world, monkeypatch_module):
    model = ExpressModel(runner_world.moto.url)
    runner_world.write_logs(expressstub.GROUP, "ecs/Main/task1", ["conformance: app log line"])
    _serve(monkeypatch_module, ExpressTarget, "ecs", model.script.client)
    return Harness(
        "ecs-express",
        runner_world.settings("ecs-express", EXPRESS_POLL_SECONDS="0.01"),
        (release("v1"), release("v2")),
        release("bad"),
        bad_exit=ExitCode.RESTORED,
        unsupported=_cases("ecs-express"),
    )


def _serve(monkeypatch, cls, service: str, client) -> None:
    """Every instance of ``cls`` the flow opens talks to ``client`` for ``service``."""
    init = cls.__init__

    def with_model(self, settings, runner=None, **kw):
        kw.setdefault("clients", AwsClients(settings, clients={service: client}))
        init(self, settings, runner, **kw)

    monkeypatch.setattr(cls, "__init__", with_model)


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()
