"""``invoke status`` and ``invoke logs`` for the Kubernetes target: read-only.

status: the app's Deployments, their ReplicaSets (revision, image, ready), the pods
(phase, restarts, why not ready) and the namespace's recent events. logs: the pods of
what serves, each line prefixed with its pod; ``--follow`` streams all of them.
"""

from __future__ import annotations

import re
import threading
from typing import Any

from shipwright.domain import Release, Status
from shipwright.errors import ConfigError
from shipwright.output import say
from shipwright.targets.k8s.bind import release_of
from shipwright.targets.k8s.context import Context
from shipwright.targets.k8s.judge import REVISION, container_statuses

COLUMNS = ("Object", "State", "Image / revision", "Detail")
EVENTS = 10


def _selector(labels: dict[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))


def status(ctx: Context, deployments: list[str], serving: Release | None) -> Status:
    rows: list[tuple[str, ...]] = []
    data: dict[str, Any] = {"namespace": ctx.kube.namespace, "deployments": {}}
    for name in deployments:
        dep = ctx.kube.get("apps/v1", "Deployment", name)
        if dep is None:
            continue
        spec, st = dep.get("spec") or {}, dep.get("status") or {}
        release = release_of(dep, ctx.cfg.environment)
        rows.append(
            (
                f"deployment/{name}",
                f"{st.get('readyReplicas') or 0}/{spec.get('replicas', 0)} ready",
                release.version if release else "-",
                f"{st.get('updatedReplicas') or 0} updated, "
                f"{st.get('availableReplicas') or 0} available",
            )
        )
        selector = _selector(spec["selector"].get("matchLabels") or {})
        sets = ctx.kube.list("apps/v1", "ReplicaSet", selector)
        sets.sort(key=lambda rs: int((rs["metadata"].get("annotations") or {}).get(REVISION, 0)))
        for rs in sets:
            rows.append(_rs_row(rs))
        pods = ctx.kube.list("v1", "Pod", selector)
        rows += [_pod_row(pod) for pod in pods]
        data["deployments"][name] = {
            "release": release.to_dict() if release else None,
            "replicas": spec.get("replicas"),
            "status": st,
            "replica_sets": [_rs_row(rs) for rs in sets],
            "pods": [_pod_row(pod) for pod in pods],
        }
    return Status(serving, COLUMNS, rows, notes=_events(ctx), data=data)


def _rs_row(rs: dict) -> tuple[str, ...]:
    meta, spec, st = rs["metadata"], rs.get("spec") or {}, rs.get("status") or {}
    images = ", ".join(c.get("image", "") for c in spec["template"]["spec"]["containers"])
    revision = (meta.get("annotations") or {}).get(REVISION, "?")
    return (
        f"replicaset/{meta['name']}",
        f"{st.get('readyReplicas') or 0}/{spec.get('replicas', 0)} ready",
        f"rev {revision}: {images}",
        "",
    )


def _pod_row(pod: dict) -> tuple[str, ...]:
    st = pod.get("status") or {}
    restarts = sum(cs.get("restartCount") or 0 for cs in container_statuses(pod))
    reasons = []
    for cs in container_statuses(pod):
        for kind in ("waiting", "terminated"):
            info = (cs.get("state") or {}).get(kind) or {}
            if info.get("reason"):
                reasons.append(f"{cs.get('name')}: {info['reason']}")
        if "running" in (cs.get("state") or {}) and not cs.get("ready"):
            reasons.append(f"{cs.get('name')}: not ready")
    return (
        f"pod/{pod['metadata']['name']}",
        st.get("phase", "?"),
        f"{restarts} restarts",
        ", ".join(reasons),
    )


def _events(ctx: Context) -> list[str]:
    events = ctx.kube.list("v1", "Event")

    def when(event: dict) -> str:
        return str(event.get("lastTimestamp") or event.get("eventTime") or "")

    events.sort(key=when)
    return [
        f"{when(e)} {e.get('type', '')} {(e.get('involvedObject') or {}).get('kind', '')}/"
        f"{(e.get('involvedObject') or {}).get('name', '')}: {e.get('reason', '')} "
        f"{e.get('message', '')}".strip()
        for e in events[-EVENTS:]
    ]


def since_seconds(since: str | None) -> int | None:
    """``10m`` / ``30s`` / ``2h`` as seconds (``kubectl logs --since``)."""
    if not since:
        return None
    match = re.fullmatch(r"(\d+)([smh])", since.strip())
    if not match:
        raise ConfigError(f"--since {since!r}: write it like 30s, 10m or 2h")
    return int(match.group(1)) * {"s": 1, "m": 60, "h": 3600}[match.group(2)]


def logs(ctx: Context, deployment: str, follow: bool, since: str | None) -> None:
    seconds = since_seconds(since)
    dep = ctx.kube.get("apps/v1", "Deployment", deployment)
    if dep is None:
        say(f"– no deployment/{deployment} in {ctx.kube.namespace}")
        return
    pods = ctx.kube.list("v1", "Pod", _selector(dep["spec"]["selector"].get("matchLabels") or {}))
    extra = {"since_seconds": seconds} if seconds else {}
    if not follow:
        for pod in pods:
            name = pod["metadata"]["name"]
            for line in ctx.kube.pod_log(name, ctx.cfg.container, **extra).splitlines():
                say(f"[{name}] {line}")
        return
    threads = [
        threading.Thread(target=_follow, args=(ctx, p["metadata"]["name"], extra), daemon=True)
        for p in pods
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def _follow(ctx: Context, pod: str, extra: dict) -> None:
    for line in ctx.kube.follow_pod_log(pod, ctx.cfg.container, **extra):
        say(f"[{pod}] {line.rstrip()}")
