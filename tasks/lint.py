"""lint: stage 1 -- ESLint + Prettier for the app, ruff for this project."""

from invoke import task

from shipwright.cli import reports_errors, runner_for
from shipwright.gitinfo import commit_sha
from shipwright.stages import lint as stage
from shipwright.stages.results import record


@task(default=True, help={"app": "lint the app (default on)", "project": "lint this project"})
@reports_errors
def all(c, app=True, project=True):
    """Run every lint and format check; fail on any violation."""
    result = stage.run(runner_for(c), app=app, project=project)
    record(result, commit_sha())
    result.raise_if_failed()
