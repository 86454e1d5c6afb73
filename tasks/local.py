"""local.*: the local default -- the development environment on this machine's engine.

``invoke local.prepare`` readies the engine, the local registry and base images, and
prints the settings overrides the pipeline needs; ``nox -s ci`` calls it with --json
before image.build/image.push/deploy --env development. ``invoke local.down`` removes
the stack again.
"""

from invoke import task

from shipwright.cli import flag_help, reports_errors, runner_for, settings_for

HELP = {
    "json": "print only the overrides, as one JSON object on stdout (progress goes to stderr)",
    "dry-run": "print what would be started or built, and change nothing",
}


@task(help=flag_help("env", "set", "json", "dry-run", own=HELP), iterable=["set"])
@reports_errors
def prepare(c, env="development", set=None, json=False, dry_run=False):
    """Engine, local registry, base and Redis images for the local default; print overrides."""
    import contextlib
    import json as jsonlib
    import sys

    from shipwright import localdefault
    from shipwright.output import say, table

    settings, runner = settings_for(env, set), runner_for(c, dry_run)
    if json:
        with contextlib.redirect_stdout(sys.stderr):
            overrides = localdefault.prepare(settings, runner)
        say(jsonlib.dumps(overrides, sort_keys=True))
        return
    overrides = localdefault.prepare(settings, runner)
    table("Local default: settings overrides", ("Key", "Value"), sorted(overrides.items()))


@task(help=flag_help("env", "set", "volumes", "dry-run", own=HELP), iterable=["set"])
@reports_errors
def down(c, env="development", set=None, volumes=False, dry_run=False):
    """Stop and remove the local stack (backend, redis, mongodb); the ledger stays."""
    from shipwright.targets.local_compose import session

    session.down(settings_for(env, set), runner_for(c, dry_run), volumes=volumes)
