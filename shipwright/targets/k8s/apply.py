"""Every change the target makes to the cluster, each one a Runner API call (so
``--dry-run`` prints it and changes nothing): server-side apply of the bound objects,
the release's template, a scale, a Service selector switch.
"""

from __future__ import annotations

from shipwright.domain import Release
from shipwright.errors import ShipwrightError
from shipwright.runner import Runner
from shipwright.targets.k8s.bind import COLOR, Bound
from shipwright.targets.k8s.client import Kube
from shipwright.targets.k8s.config import FIELD_MANAGER
from shipwright.targets.k8s.ledger import TemplateStore
from shipwright.targets.k8s.render import Manifest


class Applier:
    def __init__(self, kube: Kube, runner: Runner, templates: TemplateStore):
        self.kube, self.runner, self.templates = kube, runner, templates

    def describe(self, m: Manifest) -> str:
        return f"server-side apply {m.ref} in {self.kube.namespace} (field manager {FIELD_MANAGER})"

    def apply(self, m: Manifest) -> None:
        self.runner.api(self.describe(m), self.kube.apply, m.obj)

    def prepare(self, release: Release, bound: Bound, template: Bound | None = None) -> None:
        """What the pods read, before their Deployment changes: the release's template
        (``template``, uncoloured, else ``bound``), ConfigMap, Secret (or a check that a
        stored template's Secret still exists) and the overlay's other objects."""
        self.require_secret(bound)
        template = self.templates.body(release.version, template or bound)
        self.runner.api(
            f"server-side apply ConfigMap/{template['metadata']['name']} in "
            f"{self.kube.namespace} (template of {release.version})",
            self.kube.apply,
            template,
        )
        for m in [m for m in (bound.config, bound.secret) if m] + bound.others:
            self.apply(m)

    def require_secret(self, bound: Bound) -> None:
        if bound.secret is not None or not bound.secret_name or self.runner.dry_run:
            return
        if self.kube.get("v1", "Secret", bound.secret_name) is None:
            raise ShipwrightError(
                f"Secret {bound.secret_name} (used by that release) is gone from "
                f"{self.kube.namespace}: deploy the version again with invoke deploy --version"
            )

    def scale(self, deployment: str, replicas: int) -> None:
        self.runner.api(
            f"scale Deployment/{deployment} in {self.kube.namespace} to {replicas}",
            self.kube.patch,
            "apps/v1",
            "Deployment",
            deployment,
            {"spec": {"replicas": replicas}},
        )

    def select(self, service: str, color: str) -> None:
        """The blue-green switch: one merge patch of the Service's selector."""
        self.runner.api(
            f"switch Service/{service} in {self.kube.namespace} to {COLOR}={color}",
            self.kube.patch,
            "v1",
            "Service",
            service,
            {"spec": {"selector": {COLOR: color}}},
        )
