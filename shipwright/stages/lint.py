"""Stage 1: lint and format checks -- ESLint and Prettier for the app, ruff for this
project. Every check runs; the stage fails if any found a violation."""

from __future__ import annotations

from pathlib import Path

from shipwright import PROJECT_ROOT
from shipwright.runner import Runner
from shipwright.stages import node
from shipwright.stages.results import StageResult


def lint_app(runner: Runner, result: StageResult, app_dir: Path = node.APP_DIR) -> None:
    node.ensure_dependencies(runner, app_dir)
    for script in ("lint", "format:check"):
        outcome = node.npm_script(runner, script, app_dir=app_dir)
        result.add(
            f"app: npm run {script}", outcome.ok, "" if outcome.ok else f"exit {outcome.exit_code}"
        )


def lint_project(runner: Runner, result: StageResult, root: Path = PROJECT_ROOT) -> None:
    for name, cmd in (
        ("ruff check", ["ruff", "check", "."]),
        ("ruff format --check", ["ruff", "format", "--check", "."]),
    ):
        outcome = runner.local(cmd, cwd=str(root), check=False, changes=False)
        result.add(
            f"project: {name}", outcome.ok, "" if outcome.ok else f"exit {outcome.exit_code}"
        )


def run(runner: Runner, *, app: bool = True, project: bool = True) -> StageResult:
    result = StageResult("lint")
    if app:
        lint_app(runner, result)
    if project:
        lint_project(runner, result)
    return result
