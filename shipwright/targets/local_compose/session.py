"""Take the local default's stack down (``invoke local.down``)."""

from __future__ import annotations

from shipwright.compose import local
from shipwright.output import status
from shipwright.runner import Runner
from shipwright.settings import Settings
from shipwright.targets.compose_hosts import commands as hosts_cmd
from shipwright.targets.local_compose import commands as cmd


def down(settings: Settings, runner: Runner, *, volumes: bool = False) -> None:
    """Remove both colours of the backend and stop this machine's nginx for it, then the
    dependencies (every profile's containers); the env files go too (they hold secrets);
    ``volumes`` drops redis/mongo data. The ledger stays: it is the history, not the stack."""
    stack = cmd.Stack.for_settings(settings)
    layout = hosts_cmd.Layout(str(stack.state_dir.resolve()), stack.project)
    runner.local(["sh", "-c", cmd.remove_colours(layout)], timeout=120)
    runner.local(
        stack.down(local.compose_command(runner), volumes=volumes),
        env=stack.environment(),
        timeout=300,
    )
    env_files = [stack.env_file, *(stack.state_dir.resolve() / stack.project / "env").glob("*")]
    for path in env_files:
        if path.is_file():
            runner.api(f"remove {path}", path.unlink, missing_ok=True)
    if not runner.dry_run:
        status(True, f"local stack {stack.project} is down")
