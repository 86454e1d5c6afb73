"""Open an environment for the flow: its target, the ledger and lock the target keeps,
and (for production) staging's ledger for the soak gate; always closed afterwards."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

from shipwright.errors import ConfigError
from shipwright.ledger import Ledger
from shipwright.lock import DeployLock
from shipwright.output import say
from shipwright.runner import Runner
from shipwright.settings import Settings, load_settings
from shipwright.targets import open_target
from shipwright.targets.base import Target


@dataclass
class Deployment:
    """What one environment's flow works with."""

    settings: Settings
    runner: Runner
    target: Target
    ledger: Ledger
    lock: DeployLock
    staging_ledger: Ledger | None = None  # for the production soak gate
    _url: str | None = None

    @property
    def app_url(self) -> str | None:
        """Where verify, watch and the downtime probe reach the app: APP_URL, else the
        URL the target itself serves at (App Runner's default domain, an Express
        endpoint); None while neither is known (cached once known)."""
        if self._url is None:
            self._url = self.settings.get("APP_URL") or self.target.app_url()
        return self._url


@contextlib.contextmanager
def opened(
    settings: Settings, runner: Runner, *, staging: bool = True, target: Target | None = None
) -> Iterator[Deployment]:
    """The environment's Deployment; with ``staging`` production also reads staging's
    ledger (from staging's own target, read-only). ``target``: one built by the caller
    (a test's, with fault hooks) instead of the one DEPLOY_TARGET names."""
    target = target or open_target(settings, runner)
    try:
        ledger = Ledger(target.ledger_store(), settings.environment)
        lock = DeployLock(
            target.lock_store(), settings.environment, on_break=ledger.record_lock_break
        )
        dep = Deployment(settings, runner, target, ledger, lock)
        if staging and settings.environment == "production":
            with _staging_ledger() as dep.staging_ledger:
                yield dep
        else:
            yield dep
    finally:
        target.close()


@contextlib.contextmanager
def _staging_ledger() -> Iterator[Ledger | None]:
    """Staging's ledger (staging's secrets are not needed to read it); None, said once,
    when staging's target cannot be opened here -- the soak gate then refuses."""
    settings = load_settings("staging", validate=False)
    try:
        target = open_target(settings, Runner(echo=False))
    except ConfigError as exc:
        say(f"– staging's ledger cannot be read here: {exc}")
        yield None
        return
    try:
        yield Ledger(target.ledger_store(), "staging")
    finally:
        target.close()
