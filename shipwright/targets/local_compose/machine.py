"""This machine as the one host of a blue-green rollout: the Compose hosts' scripts run
through local commands instead of an SSH shell.

Why the same scripts: the local default then releases exactly as the Compose hosts do
-- idle colour started beside the serving one, proven ready, nginx switched, the old
colour kept warm -- so a laptop's redeploy drops no request either, and the code that
does it is the code production runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shipwright.compose import local
from shipwright.runner import Runner
from shipwright.targets.compose_hosts import commands as cmd
from shipwright.targets.compose_hosts.config import ComposeConfig
from shipwright.targets.compose_hosts.hosts import HostState, parse_state


class LocalHost:
    """What the rollout, the switcher and the target ask of a host, on this machine."""

    name = "local"

    def __init__(self, config: ComposeConfig, runner: Runner, root: Path):
        self.config, self.runner, self._root = config, runner, str(root)
        self.known: HostState | None = None  # read under the deploy lock, for the rollout

    @property
    def layout(self) -> cmd.Layout:
        return cmd.Layout(self._root, self.config.app_name)

    def root(self) -> str:
        return self._root

    def run(self, command: str, **kwargs: Any):
        kwargs.setdefault("timeout", self.config.command_timeout)
        return self.runner.local(["sh", "-c", command], **kwargs)

    def read(self, command: str, **kwargs: Any):
        """A read-only command: runs in dry-run mode too, quietly."""
        kwargs.setdefault("quiet", True)
        return self.run(command, changes=False, **kwargs)

    def put_secret(self, content: str, path: str) -> None:
        """``content`` into a 0600 file (created so before any byte is written)."""
        self.runner.api(
            f"write {path} ({len(content)} bytes, mode 0600)",
            local.write_env_file,
            Path(path),
            content,
        )

    def state(self) -> HostState:
        return parse_state(self.read(cmd.read_state(self.layout)).stdout)

    def open(self) -> None:
        """Nothing to connect to."""

    def close(self) -> None:
        """Nothing to close."""
