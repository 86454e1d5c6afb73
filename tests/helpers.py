"""Shared test helpers: run the real CLI the way a user does; require real components."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() == "true"


@dataclass
class CliResult:
    code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def invoke(
    *args: str, env: dict[str, str] | None = None, cwd: Path = ROOT, timeout: float = 600
) -> CliResult:
    """``invoke ARGS`` as a user runs it; env adds to (not replaces) os.environ. Output
    is as wide as a CI log's (pytest's workers may set COLUMNS=80)."""
    full_env = {**os.environ, "COLUMNS": "200", **(env or {})}
    proc = subprocess.run(
        [sys.executable, "-m", "invoke", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


def require(condition: bool, why: str) -> None:
    """Skip a test whose real component is missing; in CI the conftest turns the skip of
    an ``integration`` test into a failure (CI provides every component)."""
    if not condition:
        pytest.skip(why)


def project_root(path: Path) -> Path:
    """A project root at ``path`` with an ``envs/`` holding this project's app schema
    (envs/schema.yml) and no env files: for tests that write their own."""
    (path / "envs").mkdir(parents=True, exist_ok=True)
    (path / "envs" / "schema.yml").write_text((ROOT / "envs" / "schema.yml").read_text())
    return path
