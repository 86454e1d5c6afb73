"""Open the target an environment deploys to (DEPLOY_TARGET), with its lock and ledger."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from shipwright.errors import ConfigError
from shipwright.flow.release import Deployment
from shipwright.runner import Runner
from shipwright.settings import Settings, load_settings

AVAILABLE = ("compose",)


@contextlib.contextmanager
def deployment(settings: Settings, runner: Runner) -> Iterator[Deployment]:
    kind = settings["DEPLOY_TARGET"]
    if kind not in AVAILABLE:
        raise ConfigError(
            f"DEPLOY_TARGET={kind} (set by {settings.sources['DEPLOY_TARGET']}) has no target "
            f"module yet; available: {', '.join(AVAILABLE)}"
        )
    from shipwright.flow import compose

    with compose.opened(settings, runner) as dep:
        if settings.environment == "production":
            with _staging_ledger(runner) as staging:
                dep.staging_ledger = staging
                yield dep
        else:
            yield dep


@contextlib.contextmanager
def _staging_ledger(runner: Runner):
    """Staging's ledger, read for the soak gate (staging's secrets are not needed)."""
    from shipwright.flow import compose

    staging = load_settings("staging", validate=False)
    if not staging.get("DEPLOY_HOSTS"):
        yield None
        return
    with compose.opened(staging, Runner(echo=False)) as dep:
        yield dep.ledger
