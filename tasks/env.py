"""env.*: check, show and compare the layered environments in envs/."""

from invoke import task

from shipwright.cli import reports_errors, settings_for
from shipwright.settings import envcheck

HELP = {
    "env": "environment name (development, test, staging, production, …)",
    "set": "override KEY=VALUE (repeatable)",
}
JSON = {"json": "machine-readable output"}


@task(help=HELP, iterable=["set"])
@reports_errors
def check(c, env="development", set=None):
    """Validate an environment: every problem at once, with file and line."""
    envcheck.check(env, set)


@task(help=HELP | JSON, iterable=["set"])
@reports_errors
def show(c, env="development", set=None, json=False):
    """Show an environment's values (secrets masked) and which layer set each."""
    envcheck.show(settings_for(env, set), as_json=json)


@task(help={"env": "first environment", "against": "second environment", **JSON})
@reports_errors
def diff(c, env=None, against=None, json=False):
    """Which keys differ between two environments (secrets masked): --env A --against B."""
    from shipwright.cli import require_env

    if not against:
        from shipwright.errors import ConfigError

        raise ConfigError("name the second environment: --against production (or …)")
    envcheck.diff(require_env(env), against, as_json=json)


@task(help={"write": "write docs/settings.md instead of printing the page"})
@reports_errors
def reference(c, write=False):
    """Every setting the tool, its targets and the app declare, as a Markdown page."""
    text = envcheck.reference(write=write)
    if not write:
        print(text, end="")
