"""ECS answers in AWS's documented shapes, queued on a botocore Stubber (which checks
every request and every canned response against ECS's service model).

Why: the local endpoint has no service deployments, no second deployment, no circuit
breaker and no real task exit codes; these sequences are what ECS returns on those
paths (API reference: DescribeServices, DescribeServiceDeployments,
StopServiceDeployment, RunTask, DescribeTasks).
"""

from __future__ import annotations

from datetime import UTC, datetime

from botocore.stub import ANY
from support.ecsworld import APP, CLUSTER, release
from support.scripted import ScriptedClient

ACCOUNT = "123456789012"
REGION = "us-east-1"
NOW = datetime(2026, 1, 1, tzinfo=UTC)
SERVICE_ARN = f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/{CLUSTER}/{APP}"
ANY_ARGS = None  # Stubber: no expected parameters (the request is still model-checked)


def td(n: int, family: str = f"{APP}-staging") -> str:
    return f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/{family}:{n}"


def sd(n: int) -> str:
    return f"arn:aws:ecs:{REGION}:{ACCOUNT}:service-deployment/{CLUSTER}/{APP}/sd{n}"


def task_arn(task_id: str) -> str:
    return f"arn:aws:ecs:{REGION}:{ACCOUNT}:task/{CLUSTER}/{task_id}"


class EcsScript(ScriptedClient):
    """``script.service(...)``, ``script.deployment(...)`` …: the next answers, in order."""

    aws_service = "ecs"

    # -- services --------------------------------------------------------------------------
    def service_shape(
        self,
        primary: str,
        *,
        current: str | None = None,
        others: list[dict] | None = None,
        rollout: str = "COMPLETED",
        running: int = 2,
        controller: str = "ECS",
        strategy: str = "ROLLING",
        task_sets: list[dict] | None = None,
        events: list[str] | None = None,
    ) -> dict:
        service = {
            "serviceArn": SERVICE_ARN,
            "serviceName": APP,
            "clusterArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/{CLUSTER}",
            "status": "ACTIVE",
            "desiredCount": 2,
            "runningCount": running,
            "pendingCount": 2 - running,
            "launchType": "FARGATE",
            "taskDefinition": primary,
            "deploymentController": {"type": controller},
            "deploymentConfiguration": {
                "deploymentCircuitBreaker": {"enable": True, "rollback": True},
                "maximumPercent": 200,
                "minimumHealthyPercent": 100,
                "strategy": strategy,
                "alarms": {"alarmNames": ["learinal-5xx"], "enable": True, "rollback": True},
            },
            "networkConfiguration": {
                "awsvpcConfiguration": {"subnets": ["subnet-1"], "securityGroups": ["sg-1"]}
            },
            "events": [
                {"id": str(i), "createdAt": NOW, "message": m} for i, m in enumerate(events or [])
            ],
        }
        if controller == "ECS":
            service["deployments"] = [
                {
                    "id": "ecs-svc/1",
                    "status": "PRIMARY",
                    "taskDefinition": primary,
                    "desiredCount": 2,
                    "runningCount": running,
                    "pendingCount": 2 - running,
                    "failedTasks": 0,
                    "rolloutState": rollout,
                    "rolloutStateReason": f"ECS deployment ecs-svc/1 {rollout.lower()}.",
                    "createdAt": NOW,
                    "updatedAt": NOW,
                },
                *(others or []),
            ]
        if current:
            service["currentServiceDeployment"] = current
        if task_sets is not None:
            service["taskSets"] = task_sets
        return service

    def service(self, primary: str, **kw) -> None:
        self.stub.add_response(
            "describe_services",
            {"services": [self.service_shape(primary, **kw)], "failures": []},
            {"cluster": CLUSTER, "services": [APP]},
        )

    def taskdef(self, arn: str, tag: str | None) -> None:
        """DescribeTaskDefinition of one of our revisions (``tag`` None: not ours)."""
        container = {"name": "backend", "image": "bootstrap:0", "memory": 512}
        if tag:
            rel = release(tag)
            container["image"] = rel.image.replace(f":{tag}@", "@")
            container["dockerLabels"] = {
                "io.shipwright.version": tag,
                "io.shipwright.environment": "staging",
            }
        family, revision = arn.rsplit("/", 1)[-1].rsplit(":", 1)
        self.stub.add_response(
            "describe_task_definition",
            {
                "taskDefinition": {
                    "taskDefinitionArn": arn,
                    "family": family,
                    "revision": int(revision),
                    "status": "ACTIVE",
                    "containerDefinitions": [container],
                }
            },
            {"taskDefinition": arn},
        )

    def family(self, *arns: str) -> None:
        self.stub.add_response(
            "list_task_definitions", {"taskDefinitionArns": list(arns)}, ANY_ARGS
        )

    def register(self, arn: str) -> None:
        family, revision = arn.rsplit("/", 1)[-1].rsplit(":", 1)
        self.stub.add_response(
            "register_task_definition",
            {
                "taskDefinition": {
                    "taskDefinitionArn": arn,
                    "family": family,
                    "revision": int(revision),
                }
            },
        )

    def register_flow(self, serving: int, tag: str, new: int) -> None:
        """What a deploy reads and writes before the update: the newest revision, then
        the registration of the new one."""
        self.family(td(serving))
        self.taskdef(td(serving), tag)
        self.register(td(new))

    def update(self, arn: str, *, current: str | None = None, **kw) -> None:
        self.stub.add_response(
            "update_service",
            {"service": self.service_shape(arn, current=current, rollout="IN_PROGRESS", **kw)},
            {"cluster": CLUSTER, "service": APP, "taskDefinition": arn},
        )

    # -- service deployments ------------------------------------------------------------------
    def deployment(
        self,
        arn: str,
        status: str,
        *,
        stage: str | None = None,
        running: int = 1,
        failures: int = 0,
        breaker: str = "MONITORING",
        alarms: str = "MONITORING",
        triggered: list[str] | None = None,
        reason: str = "",
        rollback: str = "",
    ) -> None:
        deployment = {
            "serviceDeploymentArn": arn,
            "serviceArn": SERVICE_ARN,
            "status": status,
            "targetServiceRevision": {
                "arn": f"{SERVICE_ARN}/revision/2",
                "requestedTaskCount": 2,
                "runningTaskCount": running,
                "pendingTaskCount": 2 - running,
            },
            "deploymentCircuitBreaker": {
                "status": breaker,
                "failureCount": failures,
                "threshold": 3,
            },
            "alarms": {
                "status": alarms,
                "alarmNames": ["learinal-5xx"],
                "triggeredAlarmNames": triggered or [],
            },
            "startedAt": NOW,
        }
        if stage:
            deployment["lifecycleStage"] = stage
        if reason:
            deployment["statusReason"] = reason
        if rollback:
            deployment["rollback"] = {"reason": rollback, "startedAt": NOW}
        self.stub.add_response(
            "describe_service_deployments",
            {"serviceDeployments": [deployment], "failures": []},
            {"serviceDeploymentArns": [arn]},
        )

    def stop(self, arn: str) -> None:
        self.stub.add_response(
            "stop_service_deployment",
            {"serviceDeploymentArn": arn},
            {"serviceDeploymentArn": arn, "stopType": "ROLLBACK"},
        )

    # -- tasks ----------------------------------------------------------------------------------
    def stopped_tasks(self, tasks: list[dict], *, known: bool = False) -> None:
        """ListTasks (STOPPED) and, for tasks not reported yet, DescribeTasks."""
        self.stub.add_response(
            "list_tasks",
            {"taskArns": [t["taskArn"] for t in tasks]},
            {"cluster": CLUSTER, "family": f"{APP}-staging", "desiredStatus": "STOPPED"},
        )
        if tasks and not known:
            self.stub.add_response("describe_tasks", {"tasks": tasks, "failures": []}, ANY_ARGS)

    def tasks(self, *tasks: dict) -> None:
        self.stub.add_response("describe_tasks", {"tasks": list(tasks), "failures": []}, ANY_ARGS)

    def run_task(self, task: dict | None, failure: str = "") -> None:
        answer = {"tasks": [task] if task else [], "failures": []}
        if failure:
            answer["failures"] = [{"arn": "", "reason": failure}]
        self.stub.add_response("run_task", answer, ANY_ARGS)


def stopped_task(
    task_id: str,
    revision: int,
    reason: str,
    *,
    app_exit: int | None = None,
    sidecar_exit: int | None = None,
    stop_code: str = "EssentialContainerExited",
    app_reason: str = "",
    status: str = "STOPPED",
) -> dict:
    app = {"name": "backend", "lastStatus": status if app_exit is not None else "PENDING"}
    if app_exit is not None:
        app["exitCode"] = app_exit
    if app_reason:
        app["reason"] = app_reason
    containers = [app]
    if sidecar_exit is not None:
        containers.append({"name": "log-router", "lastStatus": "STOPPED", "exitCode": sidecar_exit})
    return {
        "taskArn": task_arn(task_id),
        "taskDefinitionArn": td(revision),
        "lastStatus": status,
        "desiredStatus": "STOPPED",
        "stoppedReason": reason,
        "stopCode": stop_code,
        "containers": containers,
    }


__all__ = ["ANY", "EcsScript", "stopped_task", "td", "sd", "task_arn"]
