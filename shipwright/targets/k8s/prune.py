"""Drop what the ledger no longer needs -- and only what this tool created.

Deleted: release templates of images outside ``needed``, and the hashed ConfigMaps and
Secrets that no kept template, Deployment or ReplicaSet refers to -- each one labelled
``app.kubernetes.io/managed-by: shipwright`` and annotated as filled by it. Never
deleted: Deployments, ReplicaSets, pods, Services, the ledger, anything else.
"""

from __future__ import annotations

import json
from typing import Any

from shipwright.image.reference import ImageRef
from shipwright.targets.k8s.bind import FILL, MANAGED
from shipwright.targets.k8s.context import Context

OURS = ",".join(f"{k}={v}" for k, v in MANAGED.items())


def _digest(image: str) -> str:
    return ImageRef.parse(image).digest or image


def _refs(pod_spec: dict[str, Any]) -> set[str]:
    """Names of ConfigMaps and Secrets a pod spec refers to."""
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("configMapRef", "configMapKeyRef", "secretRef", "secretKeyRef"):
                    found.add((value or {}).get("name", ""))
                elif key == "secret" and isinstance(value, dict):
                    found.add(value.get("secretName", ""))
                elif key == "configMap" and isinstance(value, dict):
                    found.add(value.get("name", ""))
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(pod_spec)
    return found


def prune(ctx: Context, needed: list[str]) -> None:
    keep_digests = {_digest(image) for image in needed}
    kube, runner = ctx.kube, ctx.runner
    used: set[str] = set()
    for cm in ctx.templates.all():
        template = json.loads((cm.get("data") or {}).get("template.json", "{}"))
        deployment = (template.get("deployment") or {}).get("obj") or {}
        pod_spec = deployment.get("spec", {}).get("template", {}).get("spec", {})
        images = {_digest(c.get("image", "")) for c in pod_spec.get("containers", [])}
        if images & keep_digests:
            used |= _refs(pod_spec) | {template.get("secret") or ""}
            continue
        name = cm["metadata"]["name"]
        version = (cm.get("data") or {}).get("version", "?")
        runner.api(
            f"delete ConfigMap/{name} (template of {version}, not needed)",
            kube.delete,
            "v1",
            "ConfigMap",
            name,
        )
    for kind in ("Deployment", "ReplicaSet"):
        for obj in kube.list("apps/v1", kind):
            used |= _refs(obj.get("spec", {}).get("template", {}).get("spec", {}))
    for kind in ("ConfigMap", "Secret"):
        for obj in kube.list("v1", kind, OURS):
            meta = obj["metadata"]
            if FILL not in (meta.get("annotations") or {}) or meta["name"] in used:
                continue
            runner.api(
                f"delete {kind}/{meta['name']} (no kept release uses it)",
                kube.delete,
                "v1",
                kind,
                meta["name"],
            )
