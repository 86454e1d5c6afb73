"""Open the target an environment deploys to (DEPLOY_TARGET), with its lock and ledger."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from shipwright.errors import ConfigError
from shipwright.flow.release import Deployment
from shipwright.runner import Runner
from shipwright.settings import Settings, load_settings

AVAILABLE = ("compose", "local")


@contextlib.contextmanager
def _opened(settings: Settings, runner: Runner) -> Iterator[Deployment]:
    kind = settings["DEPLOY_TARGET"]
    if kind == "compose":
        from shipwright.flow import compose

        with compose.opened(settings, runner) as dep:
            yield dep
    elif kind == "local":
        from shipwright.targets.local_compose import session

        with session.opened(settings, runner) as ctx:
            yield Deployment(settings, runner, ctx.target, ctx.ledger, ctx.lock)
    else:
        raise ConfigError(
            f"DEPLOY_TARGET={kind} (set by {settings.sources['DEPLOY_TARGET']}) has no target "
            f"module yet; available: {', '.join(AVAILABLE)}"
        )


@contextlib.contextmanager
def deployment(settings: Settings, runner: Runner) -> Iterator[Deployment]:
    """The environment's Deployment; production also reads staging's ledger (soak gate)."""
    with _opened(settings, runner) as dep:
        if settings.environment != "production":
            yield dep
            return
        with _staging_ledger() as staging:
            dep.staging_ledger = staging
            yield dep


@contextlib.contextmanager
def _staging_ledger():
    """Staging's ledger, read for the soak gate (staging's secrets are not needed);
    None when staging has no target configured here (the gate then refuses)."""
    staging = load_settings("staging", validate=False)
    if staging["DEPLOY_TARGET"] == "compose" and not staging.get("DEPLOY_HOSTS"):
        yield None
        return
    with _opened(staging, Runner(echo=False)) as dep:
        yield dep.ledger
