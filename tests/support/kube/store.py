"""The emulated API server's objects: create/get/list/replace/merge-patch/apply/delete
with the API's concurrency rules.

What is real here: a global resourceVersion on every write and 409 Conflict when a
replace carries a stale one; 409 AlreadyExists on create; metadata.generation bumped
when the spec changes; the status subresource written apart from the object; label
selectors (equality and existence); names and label values validated as the API does;
an immutable Deployment selector; dry runs that store nothing; cascading deletion of
dependents by ownerReferences.

What is simplified (and said so in docs/targets/k8s.md): server-side apply replaces the
top-level fields the applied object sets as if the field manager were their only owner
(no per-field ownership, no list merging by key; conflicts never arise); strategic merge
patch is a JSON merge patch; no admission, no defaulting beyond a Service's clusterIP.
"""

from __future__ import annotations

import copy
import itertools
import re
import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

NAME = re.compile(r"[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?")
LABEL_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?")


@dataclass(frozen=True)
class Res:
    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool = True
    subresources: tuple[str, ...] = ()

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version


RESOURCES = (
    Res("", "v1", "pods", "Pod", subresources=("status", "log")),
    Res("", "v1", "services", "Service", subresources=("status", "proxy")),
    Res("", "v1", "configmaps", "ConfigMap"),
    Res("", "v1", "secrets", "Secret"),
    Res("", "v1", "events", "Event"),
    Res("", "v1", "serviceaccounts", "ServiceAccount"),
    Res("apps", "v1", "deployments", "Deployment", subresources=("status", "scale")),
    Res("apps", "v1", "replicasets", "ReplicaSet", subresources=("status",)),
    Res("batch", "v1", "jobs", "Job", subresources=("status",)),
    Res("coordination.k8s.io", "v1", "leases", "Lease"),
    Res("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget"),
)
WITH_STATUS = {"Pod", "Service", "Deployment", "ReplicaSet", "Job"}


class ApiError(Exception):
    def __init__(self, code: int, reason: str, message: str):
        super().__init__(message)
        self.code, self.reason, self.message = code, reason, message

    def status(self) -> dict[str, Any]:
        return {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def matches(labels: dict[str, str], selector: str | None) -> bool:
    """``a=b,c!=d,e,!f`` as the API reads a label selector (equality and existence)."""
    for term in filter(None, (t.strip() for t in (selector or "").split(","))):
        if "!=" in term:
            key, value = term.split("!=", 1)
            if labels.get(key) == value:
                return False
        elif "=" in term:
            key, value = term.replace("==", "=").split("=", 1)
            if labels.get(key) != value:
                return False
        elif term.startswith("!"):
            if term[1:] in labels:
                return False
        elif term not in labels:
            return False
    return True


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value)
    return out


class Store:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.objects: dict[tuple[str, str, str], dict[str, Any]] = {}  # (kind, ns, name)
        self._rv = itertools.count(1)
        self._ips = itertools.count(10)
        self.writes = 0  # changes since start (controllers use it to sleep less)

    # -- reading ------------------------------------------------------------------------
    def get(self, kind: str, ns: str, name: str) -> dict[str, Any]:
        with self.lock:
            obj = self.objects.get((kind, ns, name))
            if obj is None:
                raise ApiError(404, "NotFound", f'{kind.lower()}s "{name}" not found')
            return copy.deepcopy(obj)

    def find(self, kind: str, ns: str, name: str) -> dict[str, Any] | None:
        try:
            return self.get(kind, ns, name)
        except ApiError:
            return None

    def list(self, kind: str, ns: str | None, selector: str | None = None) -> list[dict]:
        with self.lock:
            return [
                copy.deepcopy(obj)
                for (k, n, _), obj in sorted(self.objects.items())
                if k == kind
                and (ns is None or n == ns)
                and matches(obj["metadata"].get("labels") or {}, selector)
            ]

    # -- writing ------------------------------------------------------------------------
    def create(self, kind: str, ns: str, obj: dict, *, dry_run: bool = False) -> dict:
        with self.lock:
            obj = copy.deepcopy(obj)
            meta = obj.setdefault("metadata", {})
            if not meta.get("name") and meta.get("generateName"):
                meta["name"] = meta["generateName"] + uuid.uuid4().hex[:5]
            name = meta.get("name", "")
            self._validate(kind, obj)
            if (kind, ns, name) in self.objects:
                raise ApiError(409, "AlreadyExists", f'{kind.lower()}s "{name}" already exists')
            meta.update(namespace=ns, uid=str(uuid.uuid4()), creationTimestamp=now())
            meta.pop("resourceVersion", None)
            if "spec" in obj:
                meta["generation"] = 1
            if kind == "Service":
                obj["spec"].setdefault("clusterIP", f"10.96.0.{next(self._ips)}")
            if kind in WITH_STATUS:
                obj.setdefault("status", {})
            return self._store(kind, ns, obj, dry_run)

    def replace(
        self,
        kind: str,
        ns: str,
        name: str,
        obj: dict,
        *,
        status: bool = False,
        dry_run: bool = False,
    ) -> dict:
        with self.lock:
            live = self.get(kind, ns, name)
            wanted = obj["metadata"].get("resourceVersion")
            if wanted and wanted != live["metadata"]["resourceVersion"]:
                raise ApiError(
                    409,
                    "Conflict",
                    f'Operation cannot be fulfilled on {kind.lower()}s "{name}": the object has '
                    "been modified; please apply your changes to the latest version and try again",
                )
            if status:
                live["status"] = copy.deepcopy(obj.get("status") or {})
                return self._store(kind, ns, live, dry_run)
            return self._update(kind, ns, live, copy.deepcopy(obj), dry_run)

    def patch(self, kind: str, ns: str, name: str, patch: dict, *, dry_run: bool = False) -> dict:
        with self.lock:
            live = self.get(kind, ns, name)
            return self._update(kind, ns, live, merge_patch(live, patch), dry_run)

    def apply(self, kind: str, ns: str, name: str, obj: dict, manager: str, dry_run: bool) -> dict:
        """Server-side apply, simplified: see the module docstring."""
        if not manager:
            raise ApiError(400, "BadRequest", "fieldManager is required for apply requests")
        with self.lock:
            live = self.find(kind, ns, name)
            if live is None:
                first = copy.deepcopy(obj)
                first["metadata"]["managedFields"] = [{"manager": manager, "operation": "Apply"}]
                return self.create(kind, ns, first, dry_run=dry_run)
            new = copy.deepcopy(live)
            for key, value in obj.items():
                if key not in ("metadata", "status"):
                    new[key] = copy.deepcopy(value)
            for key in ("labels", "annotations"):
                if key in obj.get("metadata", {}):
                    new["metadata"][key] = copy.deepcopy(obj["metadata"][key])
            if kind == "Service":
                new["spec"]["clusterIP"] = live["spec"].get("clusterIP")
            new["metadata"]["managedFields"] = [{"manager": manager, "operation": "Apply"}]
            return self._update(kind, ns, live, new, dry_run)

    def delete(self, kind: str, ns: str, name: str, *, precondition_rv: str | None = None) -> dict:
        with self.lock:
            live = self.get(kind, ns, name)
            if precondition_rv and precondition_rv != live["metadata"]["resourceVersion"]:
                raise ApiError(409, "Conflict", "Precondition failed: resourceVersion")
            del self.objects[(kind, ns, name)]
            self.writes += 1
            uid = live["metadata"]["uid"]
            for key, obj in list(self.objects.items()):
                owners = obj["metadata"].get("ownerReferences") or []
                if key in self.objects and any(o.get("uid") == uid for o in owners):
                    self.delete(*key)
            return live

    # -- internals ------------------------------------------------------------------------
    def _update(self, kind, ns, live, new, dry_run) -> dict:
        new["metadata"] = {
            **new.get("metadata", {}),
            **{k: live["metadata"][k] for k in ("uid", "creationTimestamp", "namespace", "name")},
        }
        if kind in WITH_STATUS:
            new["status"] = live.get("status", {})  # the main resource never writes status
        self._validate(kind, new)
        if kind == "Deployment":
            before = live["spec"]["selector"]
            if new["spec"].get("selector") != before:
                raise ApiError(422, "Invalid", "spec.selector: Invalid value: field is immutable")
        if new.get("spec") != live.get("spec"):
            new["metadata"]["generation"] = (live["metadata"].get("generation") or 1) + 1
        return self._store(kind, ns, new, dry_run)

    def _store(self, kind, ns, obj, dry_run) -> dict:
        if dry_run:
            return copy.deepcopy(obj)
        obj["metadata"]["resourceVersion"] = str(next(self._rv))
        self.objects[(kind, ns, obj["metadata"]["name"])] = obj
        self.writes += 1
        return copy.deepcopy(obj)

    @staticmethod
    def _validate(kind: str, obj: dict) -> None:
        meta = obj.get("metadata") or {}
        name = meta.get("name", "")
        if not NAME.fullmatch(name) or len(name) > 253:
            raise ApiError(422, "Invalid", f"metadata.name: Invalid value: {name!r}")
        for key, value in (meta.get("labels") or {}).items():
            if not isinstance(value, str) or not LABEL_VALUE.fullmatch(value):
                raise ApiError(422, "Invalid", f"metadata.labels[{key}]: Invalid value: {value!r}")
        if kind == "Deployment":
            selector = obj["spec"]["selector"].get("matchLabels") or {}
            labels = obj["spec"]["template"]["metadata"].get("labels") or {}
            if any(labels.get(k) != v for k, v in selector.items()):
                raise ApiError(
                    422, "Invalid", "spec.template.metadata.labels: does not match the selector"
                )
