"""``invoke status`` for App Runner: the service (status, what it runs, URL, health
check, instance configuration) and its recent operations."""

from __future__ import annotations

from typing import Any

from shipwright.domain import Release, Status
from shipwright.targets.apprunner import service as svc

COLUMNS = ("Operation", "Type", "Status", "Started", "Ended")
OPERATIONS = 5


def status_of(
    service: dict[str, Any], operations: list[dict[str, Any]], serving: Release | None
) -> Status:
    rows = [
        (
            str(op.get("Id", "-"))[:8],
            str(op.get("Type", "-")),
            str(op.get("Status", "-")),
            str(op.get("StartedAt", "-")),
            str(op.get("EndedAt", "-")),
        )
        for op in operations[:OPERATIONS]
    ]
    health = service.get("HealthCheckConfiguration") or {}
    instance = service.get("InstanceConfiguration") or {}
    scaling = service.get("AutoScalingConfigurationSummary") or {}
    if svc.is_source(service):
        repo = service["SourceConfiguration"]["CodeRepository"]
        runs = f"source {repo['RepositoryUrl']}@{repo['SourceCodeVersion']['Value']}"
    else:
        runs = f"image {svc.image_of(service)}"
    notes = [
        f"service {service.get('ServiceName')}: {service.get('Status')}, {runs}",
        f"url: {svc.url_of(service) or '-'}",
        f"health check: {health.get('Protocol', 'TCP')} {health.get('Path', '')} every "
        f"{health.get('Interval', '?')}s (timeout {health.get('Timeout', '?')}s, healthy "
        f"{health.get('HealthyThreshold', '?')}, "
        f"unhealthy {health.get('UnhealthyThreshold', '?')})",
        f"instance: {instance.get('Cpu', '?')} CPU, {instance.get('Memory', '?')} memory"
        + (f", role {instance['InstanceRoleArn']}" if instance.get("InstanceRoleArn") else ""),
        f"auto scaling: {scaling.get('AutoScalingConfigurationName', '?')} "
        f"revision {scaling.get('AutoScalingConfigurationRevision', '?')}",
    ]
    data = {
        "service": service.get("ServiceName"),
        "arn": service.get("ServiceArn"),
        "status": service.get("Status"),
        "url": svc.url_of(service),
        "image": svc.image_of(service),
        "health_check": health,
        "instance": instance,
        "operations": [dict(op) for op in operations[:OPERATIONS]],
    }
    return Status(serving, COLUMNS, rows, notes, data=data)
