"""test.*: stage 2 -- the app's unit and integration tests and coverage."""

from invoke import task

from shipwright.cli import reports_errors, runner_for, settings_for
from shipwright.gitinfo import commit_sha
from shipwright.stages import tests as stage
from shipwright.stages.results import record

HELP = {
    "env": "environment whose settings apply (default: test)",
    "set": "override KEY=VALUE (repeatable), e.g. --set REDIS_URI=redis://...",
}


def _run(c, step, env, set):
    result = step(runner_for(c), settings_for(env, set))
    record(result, commit_sha())
    result.raise_if_failed()


@task(help=HELP, iterable=["set"])
@reports_errors
def unit(c, env="test", set=None):
    """Run the app's unit tests."""
    _run(c, stage.unit, env, set)


@task(help=HELP, iterable=["set"])
@reports_errors
def integration(c, env="test", set=None):
    """Run the app's integration tests against real Redis (and MongoDB where possible)."""
    _run(c, stage.integration, env, set)


@task(help=HELP, iterable=["set"])
@reports_errors
def coverage(c, env="test", set=None):
    """Run all app tests with coverage; upload to Codecov when CODECOV_TOKEN is set."""
    _run(c, stage.coverage, env, set)


@task(default=True, help=HELP, iterable=["set"])
@reports_errors
def all(c, env="test", set=None):
    """Unit tests, then every test with coverage."""
    _run(c, stage.unit, env, set)
    _run(c, stage.coverage, env, set)
