"""Open the local target with its lock and ledger, and take the local stack down.

The same shape as the compose-hosts session (``opened()`` yields ``.target``,
``.ledger``, ``.lock``) so the generic flow and ``shipwright.flow.open`` treat both alike.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from shipwright.compose import local
from shipwright.ledger import Ledger
from shipwright.lock import DeployLock
from shipwright.output import status
from shipwright.runner import Runner
from shipwright.settings import Settings
from shipwright.targets.local_compose import commands as cmd
from shipwright.targets.local_compose.target import LocalComposeTarget


@dataclass
class Context:
    target: LocalComposeTarget
    ledger: Ledger
    lock: DeployLock


@contextmanager
def opened(
    settings: Settings, runner: Runner, *, state_dir: Path | None = None
) -> Iterator[Context]:
    """The target, with lock and ledger under ``state_dir`` (default: the checkout's
    ``.shipwright/local/``); the engine connection is closed afterwards."""
    target = LocalComposeTarget(settings, runner, state_dir=state_dir)
    ledger = Ledger(target.ledger_store(), settings.environment)
    try:
        yield Context(
            target, ledger, DeployLock(target.lock_store(), settings.environment, ledger=ledger)
        )
    finally:
        target.close()


def down(
    settings: Settings, runner: Runner, *, volumes: bool = False, state_dir: Path | None = None
) -> None:
    """Stop and remove the local stack (every profile's containers), its env file (it
    holds secrets) and the release override; ``volumes`` drops redis/mongo data too.
    The ledger stays: it is the history, not the stack."""
    stack = cmd.Stack.for_settings(settings, state_dir)
    runner.local(
        stack.down(local.compose_command(runner), volumes=volumes),
        env=stack.environment(),
        timeout=300,
    )
    for path in (stack.env_file, stack.override):
        if path.exists():
            runner.api(f"remove {path}", path.unlink, missing_ok=True)
    if not runner.dry_run:
        status(True, f"local stack {stack.project} is down")
