"""Stage 2: the app's unit tests, integration tests (against real Redis and, where one
can run, MongoDB) and coverage, uploaded to Codecov only when CODECOV_TOKEN is set."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from shipwright.runner import Runner
from shipwright.settings import Settings
from shipwright.stages import node, services
from shipwright.stages.results import StageResult


def _script(runner: Runner, result: StageResult, script: str, env=None) -> None:
    outcome = node.npm_script(runner, script, env=env)
    result.add(f"npm run {script}", outcome.ok, "" if outcome.ok else f"exit {outcome.exit_code}")


@contextlib.contextmanager
def service_env(settings: Settings) -> Iterator[dict[str, str]]:
    """REDIS_URI / MONGO_URI of running services for the duration of the block."""
    with services.redis(settings) as redis_uri, services.mongo(settings) as mongo_uri:
        env = {"REDIS_URI": redis_uri, "CI": "true"}
        if mongo_uri:
            env["MONGO_URI"] = mongo_uri
        yield env


def unit(runner: Runner, settings: Settings) -> StageResult:
    result = StageResult("test.unit")
    node.ensure_dependencies(runner)
    _script(runner, result, "test:unit")
    return result


def integration(runner: Runner, settings: Settings) -> StageResult:
    result = StageResult("test.integration")
    node.ensure_dependencies(runner)
    with service_env(settings) as env:
        _script(runner, result, "test:integration", env)
    return result


def coverage(runner: Runner, settings: Settings) -> StageResult:
    result = StageResult("test.coverage")
    node.ensure_dependencies(runner)
    with service_env(settings) as env:
        _script(runner, result, "test:coverage", env)
    token = settings.get("CODECOV_TOKEN")
    if not token:
        result.add("codecov upload", None, "skipped: CODECOV_TOKEN is not set")
    elif result.ok:
        # The token travels in the environment, never on the command line.
        outcome = runner.local(
            [
                "codecovcli",
                "upload-process",
                "--dir",
                "coverage",
                "--disable-search",
                "--file",
                "coverage/lcov.info",
            ],
            cwd=str(node.APP_DIR),
            env={"CODECOV_TOKEN": token},
            check=False,
        )
        result.add("codecov upload", outcome.ok, "" if outcome.ok else f"exit {outcome.exit_code}")
    return result


def all_tests(runner: Runner, settings: Settings) -> list[StageResult]:
    return [unit(runner, settings), coverage(runner, settings)]
