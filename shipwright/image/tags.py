"""Image tags from git: ``<branch>-<shortsha>`` always, ``latest`` only on main.

Why: the spec's build stage tags every image with its branch and commit, so any
build can be found and deployed again, and only main moves ``latest``. Branch names
may hold characters a tag cannot (``feature/Login#2``), so they are sanitised. In CI
the branch and sha come from GitHub's variables (a checkout there is often a detached
HEAD); elsewhere from git, read-only, through the runner.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from shipwright import PROJECT_ROOT
from shipwright.errors import ConfigError
from shipwright.runner import Runner

MAIN_BRANCHES = ("main",)
PRODUCTION = "production"
STAGE_SUFFIX = {"development": "dev"}
SHORT_SHA = 7
MAX_TAG = 128
_INVALID = re.compile(r"[^a-z0-9_.-]+")
_SHA = re.compile(r"[0-9a-f]{7,40}")


@dataclass(frozen=True)
class GitInfo:
    branch: str  # as git or CI names it, unsanitised
    sha: str  # full commit sha

    @property
    def short_sha(self) -> str:
        return self.sha[:SHORT_SHA]


def sanitise(branch: str) -> str:
    """A branch name as a tag fragment: lower case, [a-z0-9_.-], no leading '.' or '-'.

    ``feature/Login#2`` -> ``feature-login-2``; empty or all-invalid -> ``detached``.
    """
    text = _INVALID.sub("-", branch.strip().lower())
    text = re.sub(r"-{2,}", "-", text).strip(".-")
    return text or "detached"


def version_tag(git: GitInfo, target: str = PRODUCTION) -> str:
    """``<branch>-<shortsha>`` (plus ``-dev``/``-<stage>`` for a non-production stage,
    so a development build never overwrites the production tag of the same commit),
    the branch cut so the tag fits Docker's 128 characters."""
    suffix = "" if target == PRODUCTION else f"-{STAGE_SUFFIX.get(target, sanitise(target))}"
    room = MAX_TAG - SHORT_SHA - 1 - len(suffix)
    branch = sanitise(git.branch)[:room].rstrip(".-") or "detached"
    return f"{branch}-{git.short_sha}{suffix}"


def image_tags(
    git: GitInfo, target: str = PRODUCTION, main_branches: tuple[str, ...] = MAIN_BRANCHES
) -> list[str]:
    """The tags one build gets, the version tag first; ``latest`` for production on main."""
    tags = [version_tag(git, target)]
    if target == PRODUCTION and git.branch in main_branches:
        tags.append("latest")
    return tags


def git_info(
    runner: Runner, root: Path = PROJECT_ROOT, environ: Mapping[str, str] | None = None
) -> GitInfo:
    """Branch and sha: $GITHUB_HEAD_REF (pull requests) or $GITHUB_REF_NAME, and
    $GITHUB_SHA when CI sets them; otherwise ``git`` in ``root`` (read-only, quiet)."""
    environ = os.environ if environ is None else environ
    branch = environ.get("GITHUB_HEAD_REF") or environ.get("GITHUB_REF_NAME") or ""
    sha = environ.get("GITHUB_SHA") or ""
    if not sha:
        sha = _git(runner, root, "rev-parse", "HEAD")
    if not branch:
        branch = _git(runner, root, "branch", "--show-current", required=False) or "detached"
    sha = sha.strip().lower()
    if not _SHA.fullmatch(sha):
        raise ConfigError(f"{sha!r} is not a git commit sha (check GITHUB_SHA)")
    return GitInfo(branch=branch.strip(), sha=sha)


def _git(runner: Runner, root: Path, *args: str, required: bool = True) -> str:
    result = runner.local(["git", *args], cwd=str(root), quiet=True, check=False, changes=False)
    if result.ok:
        return result.stdout.strip()
    if not required:
        return ""
    raise ConfigError(
        f"cannot read the git commit in {root} (git {' '.join(args)}: "
        f"{(result.stderr or result.stdout).strip() or 'failed'}); "
        "set GITHUB_REF_NAME and GITHUB_SHA, or run inside a git checkout with a commit"
    )
