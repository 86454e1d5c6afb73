"""The repository's manifests as ``kubectl kustomize`` builds an overlay.

Why kustomize (and not templates in Python): overlays are what Kubernetes users already
write and review, ``kubectl kustomize`` renders them offline with no cluster, and the
same output is what ``kubectl apply -k`` would send. The release (image digest, the
ConfigMap's and Secret's values) is bound afterwards in Python (:mod:`.bind`): secret
values never pass through a file, a command line or a command's output, and a deploy
never edits a tracked kustomization.yaml.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from typing import Any

import yaml

from shipwright.errors import CommandError, ConfigError
from shipwright.runner import Runner
from shipwright.targets.k8s.config import K8sConfig

ORIGIN = "config.kubernetes.io/origin"


@dataclass
class Manifest:
    """One object of the rendered overlay and the file it came from."""

    obj: dict[str, Any]
    origin: str  # e.g. deploy/k8s/base/deployment.yaml (or the overlay when unknown)

    @property
    def kind(self) -> str:
        return self.obj.get("kind", "")

    @property
    def name(self) -> str:
        return self.obj.get("metadata", {}).get("name", "")

    @property
    def ref(self) -> str:
        return f"{self.kind}/{self.name}"


def kustomize(cfg: K8sConfig, runner: Runner) -> list[Manifest]:
    """Build the environment's overlay (read-only: runs under --dry-run too)."""
    if shutil.which("kubectl") is None:
        raise ConfigError("kubectl is not installed: it renders the manifests (kubectl kustomize)")
    try:
        result = runner.local(
            ["kubectl", "kustomize", str(cfg.overlay_dir)], quiet=True, changes=False
        )
    except CommandError as exc:
        raise ConfigError(f"kubectl kustomize {cfg.overlay_dir} failed:\n{exc.tail}") from None
    return parse(result.stdout, cfg)


def parse(text: str, cfg: K8sConfig) -> list[Manifest]:
    """The objects of a YAML stream, each with its origin file (from kustomize's
    ``originAnnotations``), relative to the project."""
    out = []
    try:
        documents = [d for d in yaml.safe_load_all(text) if d]
    except yaml.YAMLError as exc:
        raise ConfigError(f"the rendered overlay {cfg.overlay_dir} is not YAML: {exc}") from None
    for doc in documents:
        if not isinstance(doc, dict) or "kind" not in doc:
            raise ConfigError(f"the overlay {cfg.overlay_dir} renders a non-object: {doc!r:.80}")
        annotations = doc.get("metadata", {}).get("annotations") or {}
        origin = _origin(annotations.pop(ORIGIN, None), cfg)
        if not annotations and "annotations" in doc.get("metadata", {}):
            del doc["metadata"]["annotations"]
        out.append(Manifest(doc, origin))
    return out


def _origin(annotation: str | None, cfg: K8sConfig) -> str:
    fallback = str(cfg.overlay_dir / "kustomization.yaml")
    if not annotation:
        return fallback
    try:
        path = (yaml.safe_load(annotation) or {}).get("path")
    except yaml.YAMLError:
        return fallback
    if not path:
        return fallback
    resolved = (cfg.overlay_dir / path).resolve()
    try:
        return str(resolved.relative_to(cfg.root.resolve()))
    except ValueError:
        return str(resolved)
