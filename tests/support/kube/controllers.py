"""The test-side controllers: what kube-controller-manager does for the objects the
product uses, so Deployment/ReplicaSet/Job status moves as on a cluster.

Deployment: one ReplicaSet per pod-template hash (an old one is re-used, with a new
revision, when a template comes back), rolling update by maxSurge/maxUnavailable,
status (observedGeneration, replicas, updated, ready, available), the Progressing
condition with ProgressDeadlineExceeded after progressDeadlineSeconds without progress,
the revision annotation. ReplicaSet: pods to match replicas (unready ones go first).
Job: one pod, Complete/Failed by its exit. Pod warnings become Events.
Simplified: no minReadySeconds, no pause, no Recreate strategy, no pod termination grace.
"""

from __future__ import annotations

import hashlib
import json
import math
import secrets
import time
from typing import Any

from .store import Store, now

REVISION = "deployment.kubernetes.io/revision"
HASH = "pod-template-hash"


def _owned(store: Store, kind: str, owner: dict) -> list[dict]:
    uid = owner["metadata"]["uid"]
    return [
        o
        for o in store.list(kind, owner["metadata"]["namespace"])
        if any(r.get("uid") == uid for r in o["metadata"].get("ownerReferences") or [])
    ]


def _owner_ref(owner: dict) -> dict:
    return {
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"],
        "controller": True,
    }


def _ready(pod: dict) -> bool:
    return any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in (pod.get("status") or {}).get("conditions") or []
    )


def _resolve(value: Any, desired: int, default: str, round_up: bool) -> int:
    value = default if value is None else value
    if isinstance(value, str) and value.endswith("%"):
        exact = desired * int(value[:-1]) / 100
        return math.ceil(exact) if round_up else math.floor(exact)
    return int(value)


class Controllers:
    def __init__(self, store: Store):
        self.store = store
        self._progress: dict[str, dict[str, Any]] = {}
        self._reported: set[tuple[str, str]] = set()

    def tick(self) -> None:
        for dep in self.store.list("Deployment", None):
            self._deployment(dep)
        for rs in self.store.list("ReplicaSet", None):
            self._replica_set(rs)
        for job in self.store.list("Job", None):
            self._job(job)
        self._events()

    # -- Deployment -------------------------------------------------------------------------
    def _deployment(self, dep: dict) -> None:
        ns, name = dep["metadata"]["namespace"], dep["metadata"]["name"]
        spec = dep["spec"]
        desired = spec.get("replicas", 1)
        template = spec["template"]
        digest = hashlib.sha256(json.dumps(template, sort_keys=True).encode()).hexdigest()[:10]
        owned = _owned(self.store, "ReplicaSet", dep)
        revisions = [
            int((rs["metadata"].get("annotations") or {}).get(REVISION, 0)) for rs in owned
        ]
        top = max(revisions, default=0)
        new = next((rs for rs in owned if rs["metadata"]["labels"].get(HASH) == digest), None)
        if new is None:
            new = self._new_replica_set(dep, digest, top + 1)
            owned.append(new)
        elif int(new["metadata"]["annotations"].get(REVISION, 0)) != top:
            new = self.store.patch(
                "ReplicaSet",
                ns,
                new["metadata"]["name"],
                {"metadata": {"annotations": {REVISION: str(top + 1)}}},
            )
        revision = new["metadata"]["annotations"][REVISION]
        if (dep["metadata"].get("annotations") or {}).get(REVISION) != revision:
            dep = self.store.patch(
                "Deployment", ns, name, {"metadata": {"annotations": {REVISION: revision}}}
            )
        olds = [rs for rs in owned if rs["metadata"]["uid"] != new["metadata"]["uid"]]
        self._scale(dep, new, olds, desired)
        self._status(dep, digest, desired)

    def _new_replica_set(self, dep: dict, digest: str, revision: int) -> dict:
        template = json.loads(json.dumps(dep["spec"]["template"]))
        labels = {**(template["metadata"].get("labels") or {}), HASH: digest}
        template["metadata"]["labels"] = labels
        selector = {**(dep["spec"]["selector"].get("matchLabels") or {}), HASH: digest}
        rs = {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {
                "name": f"{dep['metadata']['name']}-{digest}",
                "labels": labels,
                "annotations": {REVISION: str(revision)},
                "ownerReferences": [_owner_ref(dep)],
            },
            "spec": {"replicas": 0, "selector": {"matchLabels": selector}, "template": template},
        }
        return self.store.create("ReplicaSet", dep["metadata"]["namespace"], rs)

    def _scale(self, dep: dict, new: dict, olds: list[dict], desired: int) -> None:
        rolling = (dep["spec"].get("strategy") or {}).get("rollingUpdate") or {}
        surge = _resolve(rolling.get("maxSurge"), desired, "25%", True)
        unavailable = _resolve(rolling.get("maxUnavailable"), desired, "25%", False)
        if surge == 0 and unavailable == 0:
            unavailable = 1
        ns = dep["metadata"]["namespace"]
        total = new["spec"]["replicas"] + sum(rs["spec"]["replicas"] for rs in olds)
        want = new["spec"]["replicas"]
        if want < desired:
            want = min(desired, want + max(0, desired + surge - total))
        elif want > desired:
            want = desired
        if want != new["spec"]["replicas"]:
            self._set_replicas(ns, new, want)
        available = sum((rs.get("status") or {}).get("availableReplicas", 0) for rs in [new, *olds])
        removable = max(0, available - (desired - unavailable))
        for old in sorted(olds, key=lambda rs: rs["metadata"]["creationTimestamp"]):
            have = old["spec"]["replicas"]
            unhealthy = max(0, have - (old.get("status") or {}).get("availableReplicas", 0))
            drop = min(have, unhealthy + removable)
            removable -= max(0, drop - unhealthy)
            if drop:
                self._set_replicas(ns, old, have - drop)

    def _set_replicas(self, ns: str, rs: dict, replicas: int) -> None:
        self.store.patch("ReplicaSet", ns, rs["metadata"]["name"], {"spec": {"replicas": replicas}})

    def _status(self, dep: dict, digest: str, desired: int) -> None:
        ns, uid = dep["metadata"]["namespace"], dep["metadata"]["uid"]
        owned = _owned(self.store, "ReplicaSet", dep)
        new = next(rs for rs in owned if rs["metadata"]["labels"].get(HASH) == digest)
        counts = {
            "replicas": sum((rs.get("status") or {}).get("replicas", 0) for rs in owned),
            "updatedReplicas": (new.get("status") or {}).get("replicas", 0),
            "readyReplicas": sum((rs.get("status") or {}).get("readyReplicas", 0) for rs in owned),
            "availableReplicas": sum(
                (rs.get("status") or {}).get("availableReplicas", 0) for rs in owned
            ),
        }
        track = self._progress.setdefault(uid, {})
        if track.get("hash") != digest:
            track.update(hash=digest, counts=None, since=time.monotonic(), exceeded=False)
        if counts != track["counts"]:
            track.update(counts=counts, since=time.monotonic())
        complete = (
            counts["updatedReplicas"] == desired
            and counts["replicas"] == desired
            and counts["availableReplicas"] == desired
        )
        deadline = dep["spec"].get("progressDeadlineSeconds", 600)
        if not complete and time.monotonic() - track["since"] > deadline:
            track["exceeded"] = True
        if complete:
            progressing = ("True", "NewReplicaSetAvailable", "has successfully progressed.")
        elif track["exceeded"]:
            progressing = ("False", "ProgressDeadlineExceeded", "has timed out progressing.")
        else:
            progressing = ("True", "ReplicaSetUpdated", "is progressing.")
        status = {
            **counts,
            "observedGeneration": dep["metadata"].get("generation", 1),
            "unavailableReplicas": max(0, desired - counts["availableReplicas"]),
            "conditions": [
                {
                    "type": "Progressing",
                    "status": progressing[0],
                    "reason": progressing[1],
                    "message": f'ReplicaSet "{new["metadata"]["name"]}" {progressing[2]}',
                },
                {
                    "type": "Available",
                    "status": "True" if counts["availableReplicas"] >= desired - 1 else "False",
                },
            ],
        }
        if status != dep.get("status"):
            dep["status"] = status
            self.store.replace("Deployment", ns, dep["metadata"]["name"], dep, status=True)

    # -- ReplicaSet -------------------------------------------------------------------------
    def _replica_set(self, rs: dict) -> None:
        ns = rs["metadata"]["namespace"]
        pods = _owned(self.store, "Pod", rs)
        want = rs["spec"]["replicas"]
        for _ in range(want - len(pods)):
            pods.append(self._pod(rs, rs["spec"]["template"], {}))
        if len(pods) > want:
            doomed = sorted(pods, key=lambda p: (_ready(p), p["metadata"]["creationTimestamp"]))
            for pod in doomed[: len(pods) - want]:
                self.store.delete("Pod", ns, pod["metadata"]["name"])
            pods = _owned(self.store, "Pod", rs)
        ready = sum(1 for p in pods if _ready(p))
        status = {
            "replicas": len(pods),
            "readyReplicas": ready,
            "availableReplicas": ready,
            "observedGeneration": rs["metadata"].get("generation", 1),
        }
        if status != rs.get("status"):
            rs["status"] = status
            self.store.replace("ReplicaSet", ns, rs["metadata"]["name"], rs, status=True)

    def _pod(self, owner: dict, template: dict, extra_labels: dict) -> dict:
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": f"{owner['metadata']['name']}-{secrets.token_hex(3)}",
                "labels": {**(template["metadata"].get("labels") or {}), **extra_labels},
                "ownerReferences": [_owner_ref(owner)],
            },
            "spec": json.loads(json.dumps(template["spec"])),
        }
        return self.store.create("Pod", owner["metadata"]["namespace"], pod)

    # -- Job ----------------------------------------------------------------------------------
    def _job(self, job: dict) -> None:
        if (job.get("status") or {}).get("conditions"):
            return
        pods = _owned(self.store, "Pod", job)
        if not pods:
            name = job["metadata"]["name"]
            self._pod(job, job["spec"]["template"], {"job-name": name})
            return
        phase = (pods[0].get("status") or {}).get("phase")
        if phase not in ("Succeeded", "Failed"):
            return
        ok = phase == "Succeeded"
        job["status"] = {
            "succeeded" if ok else "failed": 1,
            "conditions": [
                {
                    "type": "Complete" if ok else "Failed",
                    "status": "True",
                    "reason": "Completed" if ok else "BackoffLimitExceeded",
                    "message": "" if ok else "Job has reached the specified backoff limit",
                }
            ],
        }
        self.store.replace(
            "Job", job["metadata"]["namespace"], job["metadata"]["name"], job, status=True
        )

    # -- Events -------------------------------------------------------------------------------
    def _events(self) -> None:
        for pod in self.store.list("Pod", None):
            for cs in (pod.get("status") or {}).get("containerStatuses") or []:
                waiting = (cs.get("state") or {}).get("waiting") or {}
                reason = waiting.get("reason")
                key = (pod["metadata"]["uid"], reason or "")
                if not reason or key in self._reported:
                    continue
                self._reported.add(key)
                self.store.create(
                    "Event",
                    pod["metadata"]["namespace"],
                    {
                        "apiVersion": "v1",
                        "kind": "Event",
                        "metadata": {"name": f"{pod['metadata']['name']}.{secrets.token_hex(4)}"},
                        "involvedObject": {"kind": "Pod", "name": pod["metadata"]["name"]},
                        "reason": reason,
                        "message": waiting.get("message", ""),
                        "type": "Warning",
                        "lastTimestamp": now(),
                    },
                )
