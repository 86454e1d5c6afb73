"""Take the local default's stack down (``invoke local.down``)."""

from __future__ import annotations

from shipwright.compose import local
from shipwright.output import status
from shipwright.runner import Runner
from shipwright.settings import Settings
from shipwright.targets.local_compose import commands as cmd


def down(settings: Settings, runner: Runner, *, volumes: bool = False) -> None:
    """Stop and remove the local stack (every profile's containers), its env file (it
    holds secrets) and the release override; ``volumes`` drops redis/mongo data too.
    The ledger stays: it is the history, not the stack."""
    stack = cmd.Stack.for_settings(settings)
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
