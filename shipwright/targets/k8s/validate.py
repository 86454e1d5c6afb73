"""``invoke k8s.validate``: the objects a release would apply, checked offline against
the official JSON schemas of the Kubernetes version the environment names
(kubernetes-validate, strict: an unknown field is an error, as the API server's strict
field validation makes it), plus what this target relies on.

Every problem names the file it comes from (kustomize's origin annotation), the object
and the field, and all of them are collected before the verdict.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from shipwright.errors import ConfigError
from shipwright.settings import Settings
from shipwright.targets.k8s.bind import Bound, secret_values
from shipwright.targets.k8s.render import Manifest


@dataclass(frozen=True)
class Finding:
    origin: str
    ref: str
    field: str
    message: str

    def __str__(self) -> str:
        where = f" {self.field}:" if self.field else ""
        return f"{self.origin}: {self.ref}:{where} {self.message}"


def supported_version(settings: Settings) -> str:
    """K8S_VERSION as major.minor, if kubernetes-validate has its schemas."""
    from kubernetes_validate import utils

    wanted = ".".join(settings["K8S_VERSION"].split(".")[:2])
    known = sorted({".".join(v.split(".")[:2]) for v in utils.all_versions()})
    if wanted not in known:
        raise ConfigError(
            f"K8S_VERSION={wanted} (set by {settings.sources['K8S_VERSION']}) has no schemas "
            f"in kubernetes-validate here; known: {known[0]} to {known[-1]}"
        )
    return wanted


def validate(bound: Bound, source: list[Manifest], version: str, container: str) -> list[Finding]:
    """Findings for the bound objects (schemas) and the repository's own (policy)."""
    findings = [f for m in bound.objects() for f in schema_findings(m, version)]
    for m in source:
        if m.kind == "Secret" and (filled := secret_values(m)):
            message = f"values for {', '.join(filled)}: secret values never live in the repository"
            findings.append(Finding(m.origin, m.ref, "data/stringData", message))
    findings += policy(bound.deployment, container)
    return findings


def schema_findings(m: Manifest, version: str) -> list[Finding]:
    """Every schema error of ``m`` (kubernetes-validate stops at the first; its schemas
    and version resolution are used here with a validator that lists them all)."""
    from kubernetes_validate import utils

    try:
        utils.validate(m.obj, version, strict=True)
        return []
    except utils.SchemaNotFoundError as exc:
        return [Finding(m.origin, m.ref, "apiVersion", exc.message)]
    except utils.ValidationError as first:
        validator = _validator(m.obj, first.version, utils)
        errors = list(validator.iter_errors(m.obj)) if validator else [first]
    return [
        Finding(
            m.origin, m.ref, ".".join(str(p) for p in e.path), f"{e.message} (Kubernetes {version})"
        )
        for e in errors
    ]


def _validator(obj: dict[str, Any], version: str, utils: Any) -> Any:
    import jsonschema
    from referencing import Registry, Resource

    schema_dir = f"kubernetes-json-schema/v{version}.0-local-strict"
    api = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", obj["apiVersion"])
    try:
        schema = utils.schema_contents(f"{schema_dir}/{obj['kind'].lower()}-{api}.json", version)
        definitions = utils.schema_contents(f"{schema_dir}/_definitions.json", version)
    except (FileNotFoundError, utils.VersionNotSupportedError):
        return None
    registry = Resource.from_contents(definitions) @ (Resource.from_contents(schema) @ Registry())
    return jsonschema.validators.Draft202012Validator(schema, registry=registry)


def policy(deployment: Manifest, container: str) -> list[Finding]:
    """What the rollout judgement needs of the Deployment."""
    spec: dict[str, Any] = deployment.obj.get("spec") or {}
    found = []

    def need(ok: bool, field: str, message: str) -> None:
        if not ok:
            found.append(Finding(deployment.origin, deployment.ref, field, message))

    need(
        "progressDeadlineSeconds" in spec,
        "spec.progressDeadlineSeconds",
        "must be set: it is how a stuck rollout is judged failed",
    )
    need(
        "revisionHistoryLimit" in spec,
        "spec.revisionHistoryLimit",
        "must be set: it bounds the ReplicaSets kept",
    )
    containers = (spec.get("template") or {}).get("spec", {}).get("containers") or []
    for index, c in enumerate(containers):
        if c.get("name") != container:
            continue
        base = f"spec.template.spec.containers.{index}"
        need("readinessProbe" in c, f"{base}.readinessProbe", "the app container needs one")
        need("livenessProbe" in c, f"{base}.livenessProbe", "the app container needs one")
        need(
            bool((c.get("resources") or {}).get("limits", {}).get("memory")),
            f"{base}.resources.limits.memory",
            "must be set (OOMKilled is judged against it)",
        )
    return found
