"""The app's npm project: installs dependencies once, runs its scripts."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from shipwright import PROJECT_ROOT
from shipwright.runner import Result, Runner

APP_DIR = PROJECT_ROOT / "app"


def ensure_dependencies(runner: Runner, app_dir: Path = APP_DIR) -> None:
    """`npm ci` when node_modules is missing or older than the lockfile -- one run at a
    time per project: `npm ci` deletes node_modules first, so a second task (a parallel
    nox session, a test worker) would otherwise read a half-installed tree."""
    if _installed(app_dir):
        return
    with _exclusive(app_dir):
        if not _installed(app_dir):  # another run may have installed while we waited
            runner.local(["npm", "ci", "--no-audit", "--no-fund"], cwd=str(app_dir), changes=False)


def _installed(app_dir: Path) -> bool:
    marker, lock = app_dir / "node_modules" / ".package-lock.json", app_dir / "package-lock.json"
    return marker.exists() and marker.stat().st_mtime >= lock.stat().st_mtime


@contextmanager
def _exclusive(app_dir: Path) -> Iterator[None]:
    """An advisory lock on the app directory itself: nothing is written to the checkout."""
    fd = os.open(app_dir, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


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
