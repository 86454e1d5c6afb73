"""How a rollout is judged: pure functions over the API's objects (no I/O).

:func:`rollout_status` is ``kubectl rollout status`` for a Deployment, condition for
condition (generation observed; updated = desired; no old replicas; available =
updated; ProgressDeadlineExceeded fails). :func:`pod_problem` adds what waiting never
heals, so a broken release fails in seconds instead of at the progress deadline
(helm --wait reports success or hangs there): image pulls, config errors, OOM kills,
crash loops past a restart budget, readiness failing past a budget.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: Waiting reasons that no amount of waiting fixes.
FATAL_WAITING = (
    "ImagePullBackOff",
    "ErrImagePull",
    "InvalidImageName",
    "ErrImageNeverPull",
    "CreateContainerConfigError",
    "CreateContainerError",
)
REVISION = "deployment.kubernetes.io/revision"


@dataclass(frozen=True)
class Rollout:
    done: bool
    failed: bool
    message: str


def rollout_status(deployment: dict[str, Any]) -> Rollout:
    """The verdict of ``kubectl rollout status deployment/NAME`` on this object."""
    name = deployment["metadata"]["name"]
    spec, status = deployment.get("spec") or {}, deployment.get("status") or {}
    generation = deployment["metadata"].get("generation") or 0
    if generation > (status.get("observedGeneration") or 0):
        return Rollout(False, False, "waiting for the deployment spec update to be observed")
    progressing = condition(status, "Progressing")
    if progressing and progressing.get("reason") == "ProgressDeadlineExceeded":
        return Rollout(False, True, f"deployment {name!r} exceeded its progress deadline")
    desired = spec.get("replicas")
    updated = status.get("updatedReplicas") or 0
    if desired is not None and updated < desired:
        return Rollout(False, False, f"{updated} out of {desired} new replicas have been updated")
    total = status.get("replicas") or 0
    if total > updated:
        return Rollout(False, False, f"{total - updated} old replicas are pending termination")
    available = status.get("availableReplicas") or 0
    if available < updated:
        return Rollout(False, False, f"{available} of {updated} updated replicas are available")
    return Rollout(True, False, f"deployment {name!r} successfully rolled out")


def progress(deployment: dict[str, Any]) -> str:
    """updated/ready/available of desired, for the progress line."""
    status = deployment.get("status") or {}
    desired = (deployment.get("spec") or {}).get("replicas", 0)
    return (
        f"{status.get('updatedReplicas') or 0}/{desired} updated, "
        f"{status.get('readyReplicas') or 0} ready, "
        f"{status.get('availableReplicas') or 0} available"
    )


def condition(status: dict[str, Any], kind: str) -> dict[str, Any] | None:
    for cond in status.get("conditions") or []:
        if cond.get("type") == kind:
            return cond
    return None


def new_replica_set(deployment: dict[str, Any], replica_sets: list[dict]) -> dict | None:
    """The Deployment's current ReplicaSet: owned by it, with its revision."""
    uid = deployment["metadata"].get("uid")
    revision = (deployment["metadata"].get("annotations") or {}).get(REVISION)
    for rs in replica_sets:
        owners = rs["metadata"].get("ownerReferences") or []
        if not any(o.get("uid") == uid for o in owners):
            continue
        if revision and (rs["metadata"].get("annotations") or {}).get(REVISION) == revision:
            return rs
    return None


@dataclass(frozen=True)
class Problem:
    pod: str
    container: str
    reason: str
    detail: str
    restarts: int = 0

    def __str__(self) -> str:
        return f"pod {self.pod}: container {self.container}: {self.reason}" + (
            f" ({self.detail})" if self.detail else ""
        )


def container_statuses(pod: dict[str, Any]) -> list[dict[str, Any]]:
    status = pod.get("status") or {}
    return (status.get("initContainerStatuses") or []) + (status.get("containerStatuses") or [])


def pod_problem(
    pod: dict[str, Any],
    *,
    restart_budget: int,
    unready_seconds: dict[str, float],
    ready_budget: float,
) -> Problem | None:
    """Why this pod of the new release will never serve, or None (not yet known).
    ``unready_seconds``: per container, how long the watcher has seen it running but
    not ready."""
    name = pod["metadata"]["name"]
    if (pod.get("status") or {}).get("phase") == "Failed":
        return Problem(name, "-", "pod failed", (pod.get("status") or {}).get("message", ""))
    for cs in container_statuses(pod):
        container = cs.get("name", "?")
        restarts = cs.get("restartCount") or 0
        state, last = cs.get("state") or {}, cs.get("lastState") or {}
        waiting = state.get("waiting") or {}
        reason = waiting.get("reason", "")
        if reason in FATAL_WAITING:
            return Problem(name, container, reason, waiting.get("message", ""), restarts)
        for terminated in (state.get("terminated"), last.get("terminated")):
            if terminated and terminated.get("reason") == "OOMKilled":
                detail = f"exit code {terminated.get('exitCode')}, over its memory limit"
                return Problem(name, container, "OOMKilled", detail, restarts)
        if reason == "CrashLoopBackOff" and restarts > restart_budget:
            detail = f"{restarts} restarts, budget {restart_budget}"
            return Problem(name, container, "CrashLoopBackOff", detail, restarts)
        unready = unready_seconds.get(f"{name}/{container}", 0.0)
        if "running" in state and not cs.get("ready") and unready > ready_budget:
            detail = f"running but not ready for {unready:.0f}s (budget {ready_budget:.0f}s)"
            return Problem(name, container, "readiness failing", detail, restarts)
    return None


def running_unready(pod: dict[str, Any]) -> list[str]:
    """``pod/container`` keys of containers that run but are not ready."""
    name = pod["metadata"]["name"]
    return [
        f"{name}/{cs.get('name')}"
        for cs in container_statuses(pod)
        if "running" in (cs.get("state") or {}) and not cs.get("ready")
    ]
