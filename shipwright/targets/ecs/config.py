"""The ECS target's settings, read once: names (cluster, service, family, container, log
group), the template, timeouts, CodeDeploy names and where the lock and ledger live."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from shipwright.errors import ConfigError
from shipwright.settings import Settings


@dataclass(frozen=True)
class EcsConfig:
    environment: str
    cluster_name: str | None
    service: str
    family: str
    container: str
    log_group: str
    template: Path
    deploy_timeout: float
    rollback_timeout: float
    run_timeout: float
    poll_seconds: float
    codedeploy_application: str | None
    codedeploy_group: str | None
    codedeploy_config: str
    state_bucket: str | None
    state_prefix: str
    #: The settings' prefix messages name (``ECS_DEPLOY_TIMEOUT`` …): the ECS Express
    #: target reuses this configuration with its own settings (``EXPRESS``).
    setting_prefix: str = "ECS"

    def setting(self, name: str) -> str:
        """``DEPLOY_TIMEOUT`` -> the setting that sets it (ECS_DEPLOY_TIMEOUT …)."""
        return f"{self.setting_prefix}_{name}"

    @classmethod
    def from_settings(cls, settings: Settings) -> EcsConfig:
        app = settings["APP_NAME"]
        template = Path(settings["ECS_TASK_DEFINITION"])
        return cls(
            environment=settings.environment,
            cluster_name=settings.get("ECS_CLUSTER"),
            service=settings.get("ECS_SERVICE") or app,
            family=settings.get("ECS_FAMILY") or f"{app}-{settings.environment}",
            container=settings["ECS_CONTAINER"],
            log_group=settings.get("ECS_LOG_GROUP") or f"/ecs/{app}",
            template=template if template.is_absolute() else settings.root / template,
            deploy_timeout=settings.number("ECS_DEPLOY_TIMEOUT"),
            rollback_timeout=settings.number("ECS_ROLLBACK_TIMEOUT"),
            run_timeout=settings.number("ECS_RUN_TIMEOUT"),
            poll_seconds=settings.number("ECS_POLL_SECONDS"),
            codedeploy_application=settings.get("ECS_CODEDEPLOY_APPLICATION"),
            codedeploy_group=settings.get("ECS_CODEDEPLOY_GROUP"),
            codedeploy_config=settings["ECS_CODEDEPLOY_CONFIG"],
            state_bucket=settings.get("AWS_STATE_BUCKET"),
            state_prefix=f"{settings['AWS_STATE_PREFIX'].strip('/')}/{app}",
        )

    @property
    def cluster(self) -> str:
        if not self.cluster_name:
            raise ConfigError(
                f"ECS_CLUSTER is not set for {self.environment!r}: name the cluster in "
                f"envs/.env.{self.environment} (or --set ECS_CLUSTER=…)"
            )
        return self.cluster_name

    @property
    def bucket(self) -> str:
        if not self.state_bucket:
            raise ConfigError(
                f"AWS_STATE_BUCKET is not set for {self.environment!r}: the ECS target keeps "
                f"its deploy lock and ledger in that S3 bucket (set it in "
                f"envs/.env.{self.environment})"
            )
        return self.state_bucket

    def stream_prefix(self, prefix: str = "ecs") -> str:
        """Where awslogs writes this container's streams: PREFIX/CONTAINER/TASK-ID."""
        return f"{prefix}/{self.container}/"
