"""What the rollout strategies share: the cluster, the runner, the settings, and the
one way to wait for a Deployment."""

from __future__ import annotations

from dataclasses import dataclass

from shipwright.domain import Release
from shipwright.runner import Runner
from shipwright.settings import Settings
from shipwright.targets.k8s.apply import Applier
from shipwright.targets.k8s.bind import release_of
from shipwright.targets.k8s.client import Kube
from shipwright.targets.k8s.config import K8sConfig
from shipwright.targets.k8s.ledger import TemplateStore
from shipwright.targets.k8s.watch import RolloutWatch, Watched


@dataclass
class Context:
    kube: Kube
    runner: Runner
    cfg: K8sConfig
    settings: Settings
    applier: Applier
    templates: TemplateStore

    def wait(self, deployment: str) -> Watched:
        """The rollout of ``deployment``, judged (dry run: nothing to wait for)."""
        if self.runner.dry_run:
            return Watched(True, "dry run")
        return RolloutWatch(self.kube, self.cfg, deployment).wait()

    def release_in(self, deployment: str) -> Release | None:
        return release_of(self.kube.get("apps/v1", "Deployment", deployment), self.cfg.environment)

    def ready(self, deployment: str) -> bool:
        """All of its desired replicas ready (and at least one desired)."""
        obj = self.kube.get("apps/v1", "Deployment", deployment)
        if obj is None:
            return False
        desired = (obj.get("spec") or {}).get("replicas") or 0
        return desired > 0 and ((obj.get("status") or {}).get("readyReplicas") or 0) >= desired
