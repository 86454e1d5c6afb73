"""The App Runner target's settings, read once."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from shipwright.settings import Settings


@dataclass(frozen=True)
class AppRunnerConfig:
    environment: str
    service: str  # an ARN or a name
    config_file: Path
    deploy_timeout: float
    poll_seconds: float

    @classmethod
    def from_settings(cls, settings: Settings) -> AppRunnerConfig:
        path = Path(settings["APPRUNNER_CONFIG"])
        return cls(
            environment=settings.environment,
            service=settings.get("APPRUNNER_SERVICE")
            or f"{settings['APP_NAME']}-{settings.environment}",
            config_file=path if path.is_absolute() else settings.root / path,
            deploy_timeout=settings.number("APPRUNNER_DEPLOY_TIMEOUT"),
            poll_seconds=settings.number("APPRUNNER_POLL_SECONDS"),
        )
