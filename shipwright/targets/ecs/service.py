"""Reading an ECS service: describe it (a missing cluster or service is a ConfigError
naming the setting), which task definition its PRIMARY deployment runs, and whether it
has settled on one revision."""

from __future__ import annotations

from typing import Any

from shipwright.aws.clients import AwsClients
from shipwright.aws.errors import aws_errors
from shipwright.errors import ConfigError
from shipwright.targets.ecs.config import EcsConfig

NOT_FOUND = {"ClusterNotFoundException": "ECS_CLUSTER", "ServiceNotFoundException": "ECS_SERVICE"}


def ecs_errors(clients: AwsClients, doing: str):
    return aws_errors(clients.settings, doing, not_found=NOT_FOUND)


def describe(clients: AwsClients, config: EcsConfig) -> dict[str, Any]:
    with ecs_errors(clients, f"describing the service {config.service}"):
        got = clients("ecs").describe_services(cluster=config.cluster, services=[config.service])
    services = [s for s in got.get("services", []) if s.get("status") != "INACTIVE"]
    if not services:
        reason = "; ".join(f.get("reason", "") for f in got.get("failures", [])) or "INACTIVE"
        source = clients.settings.sources.get("ECS_SERVICE", "default: APP_NAME")
        raise ConfigError(
            f"ECS_SERVICE={config.service} (set by {source}) does not exist in "
            f"ECS_CLUSTER={config.cluster} ({reason})"
        )
    return services[0]


def primary_task_definition(service: dict[str, Any]) -> str | None:
    """What the service's PRIMARY deployment (or task set) runs."""
    for group in (service.get("deployments") or [], service.get("taskSets") or []):
        for item in group:
            if item.get("status") == "PRIMARY":
                return item.get("taskDefinition")
    return service.get("taskDefinition")


def settled(service: dict[str, Any]) -> bool:
    """One deployment left, running what it wants to run."""
    deployments = service.get("deployments") or []
    if len(deployments) > 1:
        return False
    return service.get("runningCount") == service.get("desiredCount")


def controller(service: dict[str, Any]) -> str:
    return (service.get("deploymentController") or {}).get("type", "ECS")


def strategy(service: dict[str, Any]) -> str:
    return (service.get("deploymentConfiguration") or {}).get("strategy", "ROLLING")


def revision_of(arn: str | None) -> str:
    """``family:12`` from a task definition ARN."""
    return (arn or "-").rsplit("/", 1)[-1]
