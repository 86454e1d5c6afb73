"""The Express target's settings, read once; and the ECS target's configuration for the
Express service, so the ECS tracker, stopped-task report and run-task serve it as is."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from shipwright.settings import Settings
from shipwright.targets.ecs.config import EcsConfig


@dataclass(frozen=True)
class ExpressConfig:
    environment: str
    app: str
    cluster: str
    service: str
    execution_role: str | None
    infrastructure_role: str | None
    task_role: str | None
    port: int
    health_path: str
    cpu: str
    memory: str
    min_tasks: int
    max_tasks: int
    scaling_metric: str
    scaling_target: int
    subnets: tuple[str, ...]
    security_groups: tuple[str, ...]
    log_group: str | None
    deploy_timeout: float
    rollback_timeout: float
    run_timeout: float
    poll_seconds: float

    @classmethod
    def from_settings(cls, settings: Settings) -> ExpressConfig:
        paths = settings.items_list("HEALTH_PATHS")
        return cls(
            environment=settings.environment,
            app=settings["APP_NAME"],
            cluster=settings["EXPRESS_CLUSTER"],
            service=settings.get("EXPRESS_SERVICE")
            or f"{settings['APP_NAME']}-{settings.environment}",
            execution_role=settings.get("EXPRESS_EXECUTION_ROLE_ARN"),
            infrastructure_role=settings.get("EXPRESS_INFRASTRUCTURE_ROLE_ARN"),
            task_role=settings.get("EXPRESS_TASK_ROLE_ARN"),
            port=settings.integer("EXPRESS_PORT"),
            health_path=settings.get("EXPRESS_HEALTH_PATH") or (paths[0] if paths else "/health"),
            cpu=settings["EXPRESS_CPU"],
            memory=settings["EXPRESS_MEMORY"],
            min_tasks=settings.integer("EXPRESS_MIN_TASKS"),
            max_tasks=settings.integer("EXPRESS_MAX_TASKS"),
            scaling_metric=settings["EXPRESS_SCALING_METRIC"],
            scaling_target=settings.integer("EXPRESS_SCALING_TARGET"),
            subnets=tuple(settings.items_list("EXPRESS_SUBNETS")),
            security_groups=tuple(settings.items_list("EXPRESS_SECURITY_GROUPS")),
            log_group=settings.get("EXPRESS_LOG_GROUP"),
            deploy_timeout=settings.number("EXPRESS_DEPLOY_TIMEOUT"),
            rollback_timeout=settings.number("EXPRESS_ROLLBACK_TIMEOUT"),
            run_timeout=settings.number("EXPRESS_RUN_TIMEOUT"),
            poll_seconds=settings.number("EXPRESS_POLL_SECONDS"),
        )

    @property
    def run_family(self) -> str:
        """Our own family for one-off tasks in a release that does not serve yet
        (Express owns the service's family; we never register revisions in it)."""
        return f"{self.app}-{self.environment}-run"

    def ecs(self, family: str, container: str, log_group: str) -> EcsConfig:
        """The ECS target's view of the Express service (its cluster, name, timeouts)."""
        return EcsConfig(
            environment=self.environment,
            cluster_name=self.cluster,
            service=self.service,
            family=family,
            container=container,
            log_group=log_group,
            template=Path(),
            deploy_timeout=self.deploy_timeout,
            rollback_timeout=self.rollback_timeout,
            run_timeout=self.run_timeout,
            poll_seconds=self.poll_seconds,
            codedeploy_application=None,
            codedeploy_group=None,
            codedeploy_config="",
            state_bucket=None,
            state_prefix="",
            setting_prefix="EXPRESS",
        )
