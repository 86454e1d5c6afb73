"""compose.*: the project's Compose stack on this machine's engine (up, down, ps, logs).

Releases to Docker hosts over SSH go through the one flow: ``invoke deploy --env X``
with DEPLOY_TARGET=compose (``--no-gates`` for the direct, ungated path)."""

from invoke import task

from shipwright.cli import flag_help, reports_errors, runner_for, settings_for

HELP = {
    "file": "compose file (default: docker-compose.dev.yml for development)",
}


def _file(env, file):
    from shipwright.compose import local

    return file or (local.DEV_FILE if env == "development" else local.DEFAULT_FILE)


@task(help=flag_help("env", "file", "set", "dry-run", own=HELP), iterable=["set"])
@reports_errors
def up(c, env="development", file=None, set=None, dry_run=False):
    """Start the local Compose stack and wait until every service is healthy."""
    from shipwright.compose import local

    local.up(settings_for(env, set), runner_for(c, dry_run), _file(env, file))


@task(help=flag_help("env", "file", "volumes", "set", "dry-run", own=HELP), iterable=["set"])
@reports_errors
def down(c, env="development", file=None, volumes=False, set=None, dry_run=False):
    """Stop and remove the local Compose stack."""
    from shipwright.compose import local

    local.down(settings_for(env, set), runner_for(c, dry_run), _file(env, file), volumes=volumes)


@task(help=flag_help("env", "file", "set", "json", own=HELP), iterable=["set"])
@reports_errors
def ps(c, env="development", file=None, set=None, json=False):
    """The local stack's containers: service, state, health."""
    from shipwright.compose import local
    from shipwright.output import emit_json, table

    rows = local.ps(settings_for(env, set), runner_for(c), _file(env, file))
    if json:
        emit_json(rows)
        return
    table(
        "compose ps",
        ("Service", "State", "Health", "Ports"),
        [
            (
                r.get("Service"),
                r.get("State"),
                r.get("Health") or "-",
                r.get("Publishers")
                and ", ".join(
                    str(p.get("PublishedPort")) for p in r["Publishers"] if p.get("PublishedPort")
                )
                or "-",
            )
            for r in rows
        ],
    )


@task(help=flag_help("env", "file", "follow", "set", own=HELP), iterable=["set"])
@reports_errors
def logs(c, env="development", file=None, follow=False, set=None):
    """The local stack's logs (a deployed environment's: invoke logs --env X)."""
    from shipwright.compose import local

    local.logs(settings_for(env, set), runner_for(c), _file(env, file), follow)
