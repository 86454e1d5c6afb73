"""The CreateExpressGatewayService / UpdateExpressGatewayService arguments for a
release: the primary container with the image by digest, the port, the app's plain
variables as ``environment`` and its secrets as ``secrets`` references (never values),
the health check path, cpu/memory, scaling, network and roles from the settings.

Why the same arguments for both calls: an update states the whole wanted configuration,
so a deploy and a rollback are the same call with a different release.
"""

from __future__ import annotations

from typing import Any

from shipwright.aws.secrets import app_variables
from shipwright.domain import Release
from shipwright.errors import ConfigError
from shipwright.image.reference import ImageRef
from shipwright.settings import Settings
from shipwright.targets.ecs_express.config import ExpressConfig

#: Where the service's environment is written down (tags of the Express service).
TAG = "shipwright:environment"


def container(settings: Settings, config: ExpressConfig, release: Release) -> dict[str, Any]:
    plain, refs = app_variables(settings, release.version)
    primary: dict[str, Any] = {
        "image": ImageRef.parse(release.image).by_digest(),
        "containerPort": config.port,
        "environment": [{"name": k, "value": plain[k]} for k in sorted(plain)],
        "secrets": [{"name": r.name, "valueFrom": r.value_from} for r in refs],
    }
    if config.log_group:
        primary["awsLogsConfiguration"] = {"logGroup": config.log_group, "logStreamPrefix": "ecs"}
    return primary


def _common(settings: Settings, config: ExpressConfig, release: Release) -> dict[str, Any]:
    args: dict[str, Any] = {
        "healthCheckPath": config.health_path,
        "primaryContainer": container(settings, config, release),
        "cpu": config.cpu,
        "memory": config.memory,
        "scalingTarget": {
            "minTaskCount": config.min_tasks,
            "maxTaskCount": config.max_tasks,
            "autoScalingMetric": config.scaling_metric,
            "autoScalingTargetValue": config.scaling_target,
        },
    }
    if config.task_role:
        args["taskRoleArn"] = config.task_role
    if config.subnets or config.security_groups:
        args["networkConfiguration"] = {
            "subnets": list(config.subnets),
            "securityGroups": list(config.security_groups),
        }
    return args


def create_arguments(settings: Settings, config: ExpressConfig, release: Release) -> dict:
    """CreateExpressGatewayService's arguments; a ConfigError naming the roles it needs."""
    missing = [
        key
        for key, value in (
            ("EXPRESS_EXECUTION_ROLE_ARN", config.execution_role),
            ("EXPRESS_INFRASTRUCTURE_ROLE_ARN", config.infrastructure_role),
        )
        if not value
    ]
    if missing:
        raise ConfigError(
            f"creating the Express service {config.service} needs {' and '.join(missing)} "
            f"(set in envs/.env.{config.environment}; see docs/targets/apprunner.md for the "
            "roles' policies); nothing was created"
        )
    return {
        "serviceName": config.service,
        "cluster": config.cluster,
        "executionRoleArn": config.execution_role,
        "infrastructureRoleArn": config.infrastructure_role,
        **_common(settings, config, release),
        "tags": [{"key": TAG, "value": config.environment}],
    }


def update_arguments(
    settings: Settings, config: ExpressConfig, release: Release, service_arn: str
) -> dict[str, Any]:
    args = {"serviceArn": service_arn, **_common(settings, config, release)}
    if config.execution_role:
        args["executionRoleArn"] = config.execution_role
    return args
