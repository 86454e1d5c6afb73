"""The app's npm project: installs dependencies once, runs its scripts."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from shipwright import PROJECT_ROOT
from shipwright.runner import Result, Runner

APP_DIR = PROJECT_ROOT / "app"


def ensure_dependencies(runner: Runner, app_dir: Path = APP_DIR) -> None:
    """`npm ci` when node_modules is missing or older than the lockfile."""
    modules, lock = app_dir / "node_modules", app_dir / "package-lock.json"
    marker = modules / ".package-lock.json"
    if marker.exists() and marker.stat().st_mtime >= lock.stat().st_mtime:
        return
    runner.local(["npm", "ci", "--no-audit", "--no-fund"], cwd=str(app_dir), changes=False)


def npm_script(
    runner: Runner,
    script: str,
    *,
    env: Mapping[str, str] | None = None,
    check: bool = False,
    app_dir: Path = APP_DIR,
) -> Result:
    return runner.local(
        ["npm", "run", "--silent", script], cwd=str(app_dir), env=env, check=check, changes=False
    )
