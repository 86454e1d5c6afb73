"""ECS Express Mode answers in AWS's documented shapes (API reference:
CreateExpressGatewayService, UpdateExpressGatewayService, DescribeExpressGatewayService,
DescribeServiceRevisions, and the ECS calls an Express service answers like any
service: DescribeServices, DescribeServiceDeployments, StopServiceDeployment,
DescribeTaskDefinition, RunTask, DescribeTasks), queued on a botocore Stubber that
checks every request and response against ECS's service model. moto has no Express
Mode and no service deployments."""

from __future__ import annotations

from datetime import UTC, datetime

from support.runnerworld import ACCOUNT, REGION, pinned
from support.scripted import ScriptedClient

NOW = datetime(2026, 3, 1, tzinfo=UTC)
CLUSTER = "default"
SERVICE = "learinal-backend-staging"
SERVICE_ARN = f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/{CLUSTER}/{SERVICE}"
FAMILY = f"{CLUSTER}-{SERVICE}"
RUN_FAMILY = "learinal-backend-staging-run"
ENDPOINT = f"le-0b5e2a7c91f34d6e.ecs.{REGION}.on.aws"
GROUP = f"/aws/ecs/{CLUSTER}/{SERVICE}"


def td(n: int, family: str = FAMILY) -> str:
    return f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/{family}:{n}"


def sd(n: int) -> str:
    return f"arn:aws:ecs:{REGION}:{ACCOUNT}:service-deployment/{CLUSTER}/{SERVICE}/sd{n}"


def rev(n: int) -> str:
    return f"arn:aws:ecs:{REGION}:{ACCOUNT}:service-revision/{CLUSTER}/{SERVICE}/{n}"


class ExpressScript(ScriptedClient):
    """The next ECS answers, in order; ``sent(op)`` the parameters each call had."""

    aws_service = "ecs"

    # -- the ECS view ---------------------------------------------------------------------
    def service(self, primary: int | None, *, current: int | None = None, others=()) -> None:
        """DescribeServices: the service on revision ``primary`` (None: it does not exist)."""
        if primary is None:
            answer = {"services": [], "failures": [{"arn": SERVICE_ARN, "reason": "MISSING"}]}
        else:
            deployments = [
                {
                    "id": f"ecs-svc/{primary}",
                    "status": "PRIMARY",
                    "taskDefinition": td(primary),
                    "desiredCount": 2,
                    "runningCount": 2,
                    "pendingCount": 0,
                    "rolloutState": "COMPLETED",
                    "createdAt": NOW,
                },
                *others,
            ]
            service = {
                "serviceArn": SERVICE_ARN,
                "serviceName": SERVICE,
                "clusterArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/{CLUSTER}",
                "status": "ACTIVE",
                "desiredCount": 2,
                "runningCount": 2,
                "pendingCount": 0,
                "launchType": "FARGATE",
                "taskDefinition": td(primary),
                "deploymentController": {"type": "ECS"},
                "deploymentConfiguration": {"strategy": "CANARY"},
                "deployments": deployments,
                "networkConfiguration": {
                    "awsvpcConfiguration": {
                        "subnets": ["subnet-0a1b2c3d"],
                        "securityGroups": ["sg-0123abcd"],
                        "assignPublicIp": "ENABLED",
                    }
                },
                "events": [],
            }
            if current:
                service["currentServiceDeployment"] = sd(current)
            answer = {"services": [service], "failures": []}
        self.stub.add_response(
            "describe_services", answer, {"cluster": CLUSTER, "services": [SERVICE]}
        )

    def taskdef(self, n: int, tag: str, family: str = FAMILY) -> None:
        """DescribeTaskDefinition: Express's own revision, or (RUN_FAMILY) one of our
        one-off copies, labelled with its release as the target labels them."""
        labels = {"io.shipwright.version": tag, "io.shipwright.environment": "staging"}
        self.stub.add_response(
            "describe_task_definition",
            {
                "taskDefinition": {
                    "taskDefinitionArn": td(n, family),
                    "family": family,
                    "revision": n,
                    "status": "ACTIVE",
                    "networkMode": "awsvpc",
                    "requiresCompatibilities": ["FARGATE"],
                    "cpu": "1024",
                    "memory": "2048",
                    "executionRoleArn": f"arn:aws:iam::{ACCOUNT}:role/ecsTaskExecutionRole",
                    "containerDefinitions": [
                        {
                            "name": "Main",
                            "image": pinned(tag),
                            "essential": True,
                            **({"dockerLabels": labels} if family == RUN_FAMILY else {}),
                            "portMappings": [{"containerPort": 3000, "protocol": "tcp"}],
                            "environment": [
                                {"name": "APP_VERSION", "value": tag},
                                {"name": "NODE_ENV", "value": "production"},
                            ],
                            "logConfiguration": {
                                "logDriver": "awslogs",
                                "options": {
                                    "awslogs-group": GROUP,
                                    "awslogs-region": REGION,
                                    "awslogs-stream-prefix": "ecs",
                                },
                            },
                        }
                    ],
                }
            },
            {"taskDefinition": td(n, family)},
        )

    def revision(self, n: int) -> None:
        self.stub.add_response(
            "describe_service_revisions",
            {
                "serviceRevisions": [
                    {
                        "serviceRevisionArn": rev(n),
                        "serviceArn": SERVICE_ARN,
                        "clusterArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/{CLUSTER}",
                        "taskDefinition": td(n),
                        "launchType": "FARGATE",
                        "createdAt": NOW,
                    }
                ],
                "failures": [],
            },
            {"serviceRevisionArns": [rev(n)]},
        )

    # -- the Express view -----------------------------------------------------------------
    def configuration(self, n: int, tag: str) -> dict:
        return {
            "serviceRevisionArn": rev(n),
            "executionRoleArn": f"arn:aws:iam::{ACCOUNT}:role/ecsTaskExecutionRole",
            "cpu": "1024",
            "memory": "2048",
            "healthCheckPath": "/health",
            "primaryContainer": {
                "image": pinned(tag),
                "containerPort": 3000,
                "awsLogsConfiguration": {"logGroup": GROUP, "logStreamPrefix": "ecs"},
            },
            "scalingTarget": {
                "minTaskCount": 1,
                "maxTaskCount": 4,
                "autoScalingMetric": "AVERAGE_CPU",
                "autoScalingTargetValue": 60,
            },
            "ingressPaths": [{"accessType": "PUBLIC", "endpoint": ENDPOINT}],
            "createdAt": NOW,
        }

    def express_shape(self, n: int, tag: str) -> dict:
        return {
            "cluster": CLUSTER,
            "serviceName": SERVICE,
            "serviceArn": SERVICE_ARN,
            "infrastructureRoleArn": f"arn:aws:iam::{ACCOUNT}:role/ecsInfrastructureRole",
            "status": {"statusCode": "ACTIVE"},
            "currentDeployment": sd(n),
            "activeConfigurations": [self.configuration(n, tag)],
            "createdAt": NOW,
            "updatedAt": NOW,
        }

    def create(self, n: int, tag: str) -> None:
        self.stub.add_response(
            "create_express_gateway_service", {"service": self.express_shape(n, tag)}
        )

    def update(self, n: int, tag: str) -> None:
        self.stub.add_response(
            "update_express_gateway_service",
            {
                "service": {
                    "serviceArn": SERVICE_ARN,
                    "cluster": CLUSTER,
                    "serviceName": SERVICE,
                    "status": {"statusCode": "ACTIVE"},
                    "targetConfiguration": self.configuration(n, tag),
                    "createdAt": NOW,
                    "updatedAt": NOW,
                }
            },
        )

    def describe_express(self, n: int, tag: str) -> None:
        self.stub.add_response(
            "describe_express_gateway_service",
            {"service": self.express_shape(n, tag)},
            {"serviceArn": SERVICE_ARN},
        )

    # -- deployments --------------------------------------------------------------------
    def deployment(
        self,
        n: int,
        status: str,
        *,
        stage: str = "",
        alarms: str = "MONITORING",
        rollback: str = "",
        reason: str = "",
    ) -> None:
        deployment = {
            "serviceDeploymentArn": sd(n),
            "serviceArn": SERVICE_ARN,
            "status": status,
            "targetServiceRevision": {
                "arn": rev(n),
                "requestedTaskCount": 2,
                "runningTaskCount": 2,
                "pendingTaskCount": 0,
            },
            "deploymentConfiguration": {"strategy": "CANARY"},
            "alarms": {
                "status": alarms,
                "alarmNames": [f"{SERVICE}-4xx-5xx"],
                "triggeredAlarmNames": [f"{SERVICE}-4xx-5xx"] if alarms == "TRIGGERED" else [],
            },
            "startedAt": NOW,
        }
        if stage:
            deployment["lifecycleStage"] = stage
        if rollback:
            deployment["rollback"] = {"reason": rollback, "startedAt": NOW}
        if reason:
            deployment["statusReason"] = reason
        self.stub.add_response(
            "describe_service_deployments",
            {"serviceDeployments": [deployment], "failures": []},
            {"serviceDeploymentArns": [sd(n)]},
        )

    def stop(self, n: int) -> None:
        self.stub.add_response(
            "stop_service_deployment",
            {"serviceDeploymentArn": sd(n)},
            {"serviceDeploymentArn": sd(n), "stopType": "ROLLBACK"},
        )

    def stopped_tasks(self, family: str = FAMILY) -> None:
        self.stub.add_response(
            "list_tasks",
            {"taskArns": []},
            {"cluster": CLUSTER, "family": family, "desiredStatus": "STOPPED"},
        )

    def family(self, *arns: str) -> None:
        self.stub.add_response("list_task_definitions", {"taskDefinitionArns": list(arns)})

    def registered(self, n: int, family: str = RUN_FAMILY) -> None:
        self.stub.add_response(
            "register_task_definition",
            {
                "taskDefinition": {
                    "taskDefinitionArn": td(n, family),
                    "family": family,
                    "revision": n,
                }
            },
        )

    def one_off(self, arn: str, exit_code: int) -> None:
        task = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task/{CLUSTER}/0f1e2d3c4b5a69788796a5b4c3d2e1f0"
        self.stub.add_response(
            "run_task",
            {
                "tasks": [
                    {"taskArn": task, "taskDefinitionArn": arn, "lastStatus": "PROVISIONING"}
                ],
                "failures": [],
            },
        )
        self.stub.add_response(
            "describe_tasks",
            {
                "tasks": [
                    {
                        "taskArn": task,
                        "taskDefinitionArn": arn,
                        "lastStatus": "STOPPED",
                        "desiredStatus": "STOPPED",
                        "stoppedReason": "Essential container in task exited",
                        "containers": [
                            {"name": "Main", "lastStatus": "STOPPED", "exitCode": exit_code}
                        ],
                    }
                ],
                "failures": [],
            },
        )
