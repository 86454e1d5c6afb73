"""The ECS target's settings (group ``ecs``), plus the AWS settings it shares with the
other AWS targets (shipwright.aws.variables)."""

from __future__ import annotations

from shipwright.aws.variables import VARIABLES as AWS
from shipwright.settings.var import Var, number

NAME = r"[A-Za-z0-9][A-Za-z0-9_-]{0,254}"

VARIABLES: tuple[Var, ...] = AWS + (
    Var("ECS_CLUSTER", "ecs", "ECS cluster the service runs in (name or ARN)"),
    Var("ECS_SERVICE", "ecs", "ECS service to deploy (default: APP_NAME)"),
    Var(
        "ECS_TASK_DEFINITION",
        "ecs",
        "Task definition template in the repository",
        default="deploy/ecs/task-definition.json",
    ),
    Var(
        "ECS_FAMILY",
        "ecs",
        "Task definition family (default: APP_NAME-<environment>)",
        pattern=NAME,
    ),
    Var(
        "ECS_CONTAINER",
        "ecs",
        "The app's container in the task definition",
        default="backend",
        pattern=NAME,
    ),
    Var("ECS_CPU", "ecs", "Task CPU units (Fargate: 256, 512, 1024 …)", default="256"),
    Var("ECS_MEMORY", "ecs", "Task memory in MiB", default="512"),
    Var("ECS_EXECUTION_ROLE_ARN", "ecs", "Role ECS pulls the image and the secrets with"),
    Var("ECS_TASK_ROLE_ARN", "ecs", "Role the app runs with"),
    Var("ECS_LOG_GROUP", "ecs", "awslogs group of the app (default: /ecs/APP_NAME)"),
    Var(
        "ECS_DEPLOY_TIMEOUT",
        "ecs",
        "Seconds a deploy may take before ECS is asked to roll it back",
        default="1800",
        check=number,
    ),
    Var(
        "ECS_ROLLBACK_TIMEOUT",
        "ecs",
        "Seconds a rollback (ECS's or ours) may take to serve the previous revision",
        default="900",
        check=number,
    ),
    Var("ECS_RUN_TIMEOUT", "ecs", "Seconds a one-off task may run", default="1800", check=number),
    Var(
        "ECS_POLL_SECONDS",
        "ecs",
        "Seconds between two looks at a deployment",
        default="10",
        check=number,
    ),
    Var("ECS_CODEDEPLOY_APPLICATION", "ecs", "CodeDeploy application (CODE_DEPLOY services)"),
    Var("ECS_CODEDEPLOY_GROUP", "ecs", "CodeDeploy deployment group (CODE_DEPLOY services)"),
    Var(
        "ECS_CODEDEPLOY_CONFIG",
        "ecs",
        "CodeDeploy deployment configuration",
        default="CodeDeployDefault.ECSAllAtOnce",
    ),
)
