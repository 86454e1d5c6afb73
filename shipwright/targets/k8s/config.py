"""The Kubernetes target's settings, read once: every problem is reported before anything
runs, naming the setting and the layer that set it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from shipwright.errors import ConfigError
from shipwright.settings import Settings

FIELD_MANAGER = "shipwright"


@dataclass(frozen=True)
class K8sConfig:
    environment: str
    app_name: str
    root: Path  # the project root (messages name files relative to it)
    manifests: Path  # the folder holding base/ and overlays/
    overlay: str
    namespace: str | None  # None: the overlay's
    context: str | None
    kubeconfig: str | None
    strategy: str = "rolling"
    kube_version: str = "1.30"
    container: str = "backend"
    rollout_timeout: float = 900.0
    restart_budget: int = 2
    ready_budget: float = 120.0
    poll_interval: float = 2.0
    lock_seconds: int = 300
    job_timeout: float = 600.0
    preview_url: str | None = None

    @property
    def overlay_dir(self) -> Path:
        return self.manifests / "overlays" / self.overlay

    @property
    def overlay_shown(self) -> str:
        """The overlay folder as messages name it (relative to the project)."""
        try:
            return str(self.overlay_dir.resolve().relative_to(self.root.resolve()))
        except ValueError:
            return str(self.overlay_dir)

    @property
    def bluegreen(self) -> bool:
        return self.strategy == "bluegreen"

    @classmethod
    def from_settings(cls, settings: Settings) -> K8sConfig:
        folder = Path(settings["K8S_MANIFESTS"])
        manifests = folder if folder.is_absolute() else settings.root / folder
        overlay = settings.get("K8S_OVERLAY") or settings.environment
        cfg = cls(
            environment=settings.environment,
            app_name=settings["APP_NAME"],
            root=settings.root,
            manifests=manifests,
            overlay=overlay,
            namespace=settings.get("K8S_NAMESPACE"),
            context=settings.get("K8S_CONTEXT"),
            kubeconfig=settings.get("KUBECONFIG"),
            strategy=settings["K8S_STRATEGY"],
            kube_version=settings["K8S_VERSION"],
            container=settings["K8S_CONTAINER"],
            rollout_timeout=settings.number("K8S_ROLLOUT_TIMEOUT"),
            restart_budget=settings.integer("K8S_RESTART_BUDGET"),
            ready_budget=settings.number("K8S_READY_BUDGET"),
            poll_interval=settings.number("K8S_POLL_INTERVAL"),
            lock_seconds=settings.integer("K8S_LOCK_SECONDS"),
            job_timeout=settings.number("K8S_JOB_TIMEOUT"),
            preview_url=settings.get("K8S_PREVIEW_URL"),
        )
        if not (cfg.overlay_dir / "kustomization.yaml").is_file():
            key = "K8S_OVERLAY" if settings.get("K8S_OVERLAY") else "K8S_MANIFESTS"
            raise ConfigError(
                f"no overlay {cfg.overlay_dir}/kustomization.yaml for {settings.environment!r} "
                f"({key} set by {settings.sources[key]}): add the overlay, or set K8S_OVERLAY"
            )
        return cfg
