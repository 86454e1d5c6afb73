"""audit: stage 3 -- npm audit, pip-audit, Snyk when SNYK_TOKEN is set."""

from invoke import task

from shipwright.cli import reports_errors, runner_for, settings_for
from shipwright.gitinfo import commit_sha
from shipwright.stages import audit as stage
from shipwright.stages.results import record


@task(
    default=True,
    iterable=["set"],
    help={
        "env": "environment whose settings apply",
        "set": "override KEY=VALUE",
        "strict": "fail when a scanner could not audit (default: report it)",
    },
)
@reports_errors
def all(c, env="test", set=None, strict=False):
    """Audit dependencies: critical findings fail, lower levels are reported."""
    result, _ = stage.run(runner_for(c), settings_for(env, set), strict=strict)
    record(result, commit_sha())
    result.raise_if_failed()
