"""Bind a release to the rendered manifests: the image by digest, the release's
annotations, and the ConfigMap and Secret filled from the settings.

Why names with a content hash (as kustomize's generators do): a changed variable rolls
the pods, and a rollback's pod template still points at the values its release had.
Why the Secret is built here: its values come from the settings in memory and leave
only in the API request that creates it; printing it (render, diff, plans) masks them,
and their base64 forms are registered with the redactor first.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

from shipwright.domain import Release
from shipwright.errors import ConfigError
from shipwright.image.reference import ImageRef
from shipwright.redact import MASK, REDACTOR
from shipwright.settings import Settings
from shipwright.targets.k8s.config import K8sConfig
from shipwright.targets.k8s.render import Manifest

FILL = "shipwright.io/fill"
RELEASE = "shipwright.io/release"
COLOR = "shipwright.io/color"
MANAGED = {"app.kubernetes.io/managed-by": "shipwright"}
ENV_LABEL = "shipwright.io/environment"
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "PersistentVolume"}


@dataclass
class Bound:
    """The objects one release applies, in the roles the target needs."""

    namespace: str
    deployment: Manifest
    service: Manifest | None = None  # the main Service (selects the app's pods)
    preview: Manifest | None = None  # blue-green: selects the new colour
    config: Manifest | None = None
    secret: Manifest | None = None
    others: list[Manifest] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: The Secret's name when ``secret`` is not rebuilt (a release's stored template):
    #: it must still exist in the cluster.
    secret_name: str | None = None

    def objects(self) -> list[Manifest]:
        """In apply order: what the pods read first, the Deployment, then Services."""
        first = [m for m in (self.config, self.secret) if m]
        services = [m for m in (self.preview, self.service) if m]
        return first + self.others + [self.deployment] + services

    def masked(self) -> list[dict[str, Any]]:
        """The objects as they may be shown: Secret values replaced by the mask."""
        return [mask(m.obj) for m in self.objects()]


def mask(obj: dict[str, Any]) -> dict[str, Any]:
    if obj.get("kind") != "Secret":
        return obj
    shown = copy.deepcopy(obj)
    for key in ("data", "stringData"):
        if shown.get(key):
            shown[key] = {k: MASK for k in shown[key]}
    return shown


def content_hash(data: dict[str, str]) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:10]


def label_value(text: str) -> str:
    """``text`` as a valid label value (63 characters of [A-Za-z0-9_.-])."""
    return re.sub(r"[^A-Za-z0-9_.-]", "-", text)[:63].strip("-_.")


def bind(
    manifests: list[Manifest],
    release: Release,
    settings: Settings,
    cfg: K8sConfig,
    *,
    strict_refs: bool = True,
) -> Bound:
    """The release's objects (blue-green colours are added by :func:`colour`).
    ``strict_refs=False`` (validation, which reports them itself) skips refusing secret
    values in the repository and the check that the settings set every key the pods
    require."""
    items = [Manifest(copy.deepcopy(m.obj), m.origin) for m in manifests]
    deployments = [m for m in items if m.kind == "Deployment"]
    if len(deployments) != 1:
        found = ", ".join(m.ref for m in deployments) or "none"
        raise ConfigError(f"{cfg.overlay_dir} must render exactly one Deployment (found {found})")
    deployment = deployments[0]
    namespace = cfg.namespace or deployment.obj["metadata"].get("namespace") or "default"
    bound = Bound(namespace, deployment)
    for m in items:
        _own(m, namespace, cfg.environment)
        role = (m.obj["metadata"].get("annotations") or {}).get(FILL)
        if m is deployment:
            continue
        if m.kind == "ConfigMap" and role == "config":
            bound.config = m
        elif m.kind == "Secret" and role == "secrets":
            bound.secret = m
        elif m.kind == "Service" and _selects(m, deployment):
            bound.service = m
        else:
            bound.others.append(m)
    for m in items:
        if m.kind == "Secret" and strict_refs:
            refuse_values(m)
    renames = _fill(bound, settings)
    _bind_deployment(bound, release, settings, cfg, renames, strict_refs)
    if bound.secret:
        bound.secret_name = bound.secret.name
    return bound


def secret_values(secret: Manifest) -> list[str]:
    """The keys a repository Secret has values for (it should carry its shape only)."""
    parts = ("data", "stringData")
    return sorted(k for part in parts for k, v in (secret.obj.get(part) or {}).items() if v)


def refuse_values(secret: Manifest) -> None:
    filled = secret_values(secret)
    if filled:
        raise ConfigError(
            f"{secret.origin}: {secret.ref} has values for {', '.join(filled)}: secret values "
            "never live in the repository (leave them empty; they come from the settings)"
        )


def _own(m: Manifest, namespace: str, environment: str) -> None:
    meta = m.obj.setdefault("metadata", {})
    if m.kind not in CLUSTER_SCOPED:
        meta["namespace"] = namespace
    meta["labels"] = {**(meta.get("labels") or {}), **MANAGED, ENV_LABEL: environment}


def _selects(service: Manifest, deployment: Manifest) -> bool:
    selector = service.obj.get("spec", {}).get("selector") or {}
    labels = deployment.obj["spec"]["template"]["metadata"].get("labels") or {}
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def _fill(bound: Bound, settings: Settings) -> dict[tuple[str, str], str]:
    """ConfigMap and Secret data from the settings, under hashed names; returns the
    renames (kind, old name) -> new name."""
    shipped = settings.app_environment()
    renames: dict[tuple[str, str], str] = {}
    if bound.config:
        data = {k: v for k, v in shipped.items() if not settings.is_secret(k)}
        bound.config.obj["data"] = dict(sorted(data.items()))
        old = bound.config.name
        renames[("ConfigMap", old)] = _rename(bound.config, data)
    if bound.secret:
        obj = bound.secret.obj
        shape = set(obj.get("stringData") or {}) | set(obj.get("data") or {})
        values = {k: v for k, v in shipped.items() if settings.is_secret(k)}
        encoded = {k: base64.b64encode(v.encode()).decode() for k, v in sorted(values.items())}
        REDACTOR.add_all(encoded.values())
        obj.pop("stringData", None)
        obj["data"] = encoded
        missing = sorted(shape - set(values))
        if missing:
            bound.notes.append(
                f"{bound.secret.origin}: not set for {settings.environment!r}, so not in the "
                f"Secret: {', '.join(missing)}"
            )
        old = bound.secret.name
        renames[("Secret", old)] = _rename(bound.secret, values)
    return renames


def _rename(m: Manifest, data: dict[str, str]) -> str:
    new = f"{m.name}-{content_hash(data)}"
    m.obj["metadata"]["name"] = new
    return new


def _bind_deployment(bound: Bound, release: Release, settings, cfg, renames, strict) -> None:
    obj = bound.deployment.obj
    spec = obj["spec"]["template"]["spec"]
    containers = {c.get("name"): c for c in spec.get("containers", [])}
    app = containers.get(cfg.container)
    if app is None:
        raise ConfigError(
            f"{bound.deployment.origin}: {bound.deployment.ref} has no container named "
            f"{cfg.container!r} (K8S_CONTAINER set by {settings.sources['K8S_CONTAINER']})"
        )
    app["image"] = ImageRef.parse(release.image).by_digest()
    env = [e for e in app.get("env", []) if e.get("name") not in ("APP_VERSION", "GIT_SHA")]
    app["env"] = env + [
        {"name": "APP_VERSION", "value": release.version},
        {"name": "GIT_SHA", "value": release.git_sha},
    ]
    _rewrite_refs(spec, renames)
    if strict:
        _check_refs(bound, spec, settings)
    meta = obj["metadata"]
    meta.setdefault("annotations", {})[RELEASE] = json.dumps(release.to_dict(), sort_keys=True)
    template_meta = obj["spec"]["template"].setdefault("metadata", {})
    template_meta.setdefault("labels", {})["app.kubernetes.io/version"] = label_value(
        release.version
    )


def _check_refs(bound: Bound, pod_spec: dict[str, Any], settings: Settings) -> None:
    """A required key the settings do not set would stop every pod at
    CreateContainerConfigError: refuse before anything changes, naming it."""
    owned = {
        "secretKeyRef": (bound.secret, "data"),
        "configMapKeyRef": (bound.config, "data"),
    }
    for container in pod_spec.get("containers", []) + pod_spec.get("initContainers", []):
        for entry in container.get("env", []):
            source = entry.get("valueFrom") or {}
            for ref_kind, (target, part) in owned.items():
                ref = source.get(ref_kind)
                if not ref or target is None or ref.get("name") != target.name:
                    continue
                if ref.get("optional") or ref.get("key") in (target.obj.get(part) or {}):
                    continue
                local = f"envs/.env.{settings.environment}.local"
                raise ConfigError(
                    f"{ref.get('key')} is required by {bound.deployment.origin} "
                    f"(container {container.get('name')}, env {entry.get('name')}) but is not "
                    f"set for {settings.environment!r}: set it in {local}, the process "
                    "environment or CI secrets"
                )


def _rewrite_refs(node: Any, renames: dict[tuple[str, str], str]) -> None:
    """Point every reference to the shape's ConfigMap/Secret at the hashed name."""
    refs = {
        "configMapRef": ("ConfigMap", "name"),
        "configMapKeyRef": ("ConfigMap", "name"),
        "configMap": ("ConfigMap", "name"),
        "secretRef": ("Secret", "name"),
        "secretKeyRef": ("Secret", "name"),
        "secret": ("Secret", "secretName"),
    }
    if isinstance(node, list):
        for item in node:
            _rewrite_refs(item, renames)
        return
    if not isinstance(node, dict):
        return
    for key, value in node.items():
        if key in refs and isinstance(value, dict):
            kind, field_name = refs[key]
            new = renames.get((kind, value.get(field_name, "")))
            if new:
                value[field_name] = new
        _rewrite_refs(value, renames)


def colour(bound: Bound, color: str, serve_color: str) -> Bound:
    """Blue-green: a copy whose Deployment is ``<name>-<color>`` with the colour in its
    selector; the main Service selects ``serve_color``, a preview Service the new colour."""
    bound = copy.deepcopy(bound)
    obj = bound.deployment.obj
    obj["metadata"]["name"] = f"{obj['metadata']['name']}-{color}"
    obj["spec"]["selector"].setdefault("matchLabels", {})[COLOR] = color
    obj["spec"]["template"]["metadata"]["labels"][COLOR] = color
    if bound.service is None:
        raise ConfigError(
            f"K8S_STRATEGY=bluegreen needs a Service selecting {bound.deployment.ref}'s pods"
        )
    preview = copy.deepcopy(bound.service.obj)
    preview["metadata"]["name"] = f"{bound.service.name}-preview"
    preview["spec"]["selector"][COLOR] = color
    for drop in ("clusterIP", "clusterIPs", "nodePort"):
        preview["spec"].pop(drop, None)
    bound.preview = Manifest(preview, bound.service.origin)
    bound.service.obj["spec"]["selector"][COLOR] = serve_color
    return bound


def release_of(obj: dict[str, Any] | None, environment: str) -> Release | None:
    """The release a bound Deployment carries (None: not one of ours, or none)."""
    raw = ((obj or {}).get("metadata", {}).get("annotations") or {}).get(RELEASE)
    if not raw:
        return None
    try:
        return Release.from_dict({**json.loads(raw), "environment": environment})
    except (TypeError, ValueError):
        return None
