"""``invoke status`` for ECS: the service, its deployments with running/desired/pending
per revision, the current service deployment, recent service events and stopped tasks."""

from __future__ import annotations

from typing import Any

from shipwright.domain import Release, Status
from shipwright.targets.ecs import service as svc
from shipwright.targets.ecs.stopped import app_container

COLUMNS = ("Deployment", "Revision", "Version", "Running/Desired", "Pending", "Rollout")
EVENTS = 5


def status_of(
    service: dict[str, Any],
    versions: dict[str, str],
    serving: Release | None,
    stopped: list[dict[str, Any]],
    container: str,
    current: dict[str, Any] | None = None,
) -> Status:
    rows = []
    for d in service.get("deployments") or []:
        td = d.get("taskDefinition")
        rows.append(
            (
                str(d.get("status")),
                svc.revision_of(td),
                versions.get(td, "-"),
                f"{d.get('runningCount', 0)}/{d.get('desiredCount', 0)}",
                str(d.get("pendingCount", 0)),
                f"{d.get('rolloutState', '-')} {d.get('rolloutStateReason', '')}".strip(),
            )
        )
    for t in service.get("taskSets") or []:
        td = t.get("taskDefinition")
        rows.append(
            (
                f"task set {t.get('status')}",
                svc.revision_of(td),
                versions.get(td, "-"),
                f"{t.get('runningCount', 0)}/{t.get('computedDesiredCount', 0)}",
                str(t.get("pendingCount", 0)),
                str(t.get("stabilityStatus", "-")),
            )
        )
    notes = [
        f"service {service.get('serviceName')}: {service.get('status')}, "
        f"{svc.controller(service)} controller, strategy {svc.strategy(service)}, "
        f"running {service.get('runningCount', 0)}/{service.get('desiredCount', 0)}"
    ]
    if current:
        target = current.get("targetServiceRevision") or {}
        notes.append(
            f"current service deployment: {current.get('status')} "
            f"{current.get('lifecycleStage', '')} ({target.get('runningTaskCount', 0)}/"
            f"{target.get('requestedTaskCount', 0)} running)".replace("  ", " ")
        )
    for event in (service.get("events") or [])[:EVENTS]:
        notes.append(f"event {event.get('createdAt', '')}: {event.get('message', '')}")
    for task in stopped:
        app = app_container(task, container)
        code = app.get("exitCode")
        revision = svc.revision_of(task.get("taskDefinitionArn"))
        notes.append(
            f"stopped task {task['taskArn'].rsplit('/', 1)[-1]} ({revision}): "
            f"{task.get('stoppedReason', 'no reason')}; {container} "
            + (f"exited {code}" if code is not None else "never ran")
        )
    data = {
        "service": service.get("serviceName"),
        "cluster": service.get("clusterArn"),
        "deployments": service.get("deployments") or [],
        "current_service_deployment": current,
        "stopped_tasks": [t["taskArn"] for t in stopped],
    }
    return Status(serving, COLUMNS, rows, notes, data=data)
