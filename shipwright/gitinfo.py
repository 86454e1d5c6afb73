"""The commit and branch being built: from CI's variables, else from git."""

from __future__ import annotations

import os

from shipwright import PROJECT_ROOT
from shipwright.runner import Runner


def _git(*args: str) -> str:
    result = Runner(echo=False).local(
        ["git", "-C", str(PROJECT_ROOT), *args], quiet=True, check=False, changes=False
    )
    return result.stdout.strip() if result.ok else ""


def commit_sha() -> str:
    return os.environ.get("GITHUB_SHA") or _git("rev-parse", "HEAD") or "unknown"


def branch() -> str:
    return (
        os.environ.get("GITHUB_HEAD_REF")
        or os.environ.get("GITHUB_REF_NAME")
        or _git("rev-parse", "--abbrev-ref", "HEAD")
        or "unknown"
    )
