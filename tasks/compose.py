"""compose.*: releases on Docker hosts over SSH (blue-green behind nginx, rolling in
batches), their history and state -- and the local Compose stack for development."""

from invoke import task

from shipwright.cli import flag_help, reports_errors, runner_for, settings_for

HELP = {
    "env": "environment (its DEPLOY_HOSTS, SSH_USER, SSH_KEY_FILE, DEPLOY_BATCH_SIZE …)",
    "image": "deploy this image reference (repo:tag@sha256:…) instead of a recorded version",
    "dry-run": "print the plan (every command per host) and change nothing",
    "file": "compose file (default: docker-compose.dev.yml for development)",
    "since": "hosts only: logs since (e.g. 10m, 2024-01-01T00:00:00)",
}


def _env(env):
    """--env is required for the host tasks: no default environment to deploy to."""
    if not env:
        from shipwright.errors import ConfigError

        raise ConfigError("name the environment: --env staging (or production, …)")
    return env


@task(
    help=flag_help(
        "env",
        "version",
        "image",
        "lock-wait",
        "break-lock",
        "reason",
        "dry-run",
        "set",
        "json",
        own=HELP,
    ),
    iterable=["set"],
)
@reports_errors
def deploy(
    c,
    env=None,
    version=None,
    image=None,
    lock_wait=0,
    break_lock=False,
    reason="",
    dry_run=False,
    set=None,
    json=False,
):
    """Deploy a release to every host of --env: batch by batch, zero-downtime, undone on failure."""
    from shipwright.flow import compose as compose_flow
    from shipwright.flow.release import release_for

    settings, runner = settings_for(_env(env), set), runner_for(c, dry_run)
    release = release_for(settings, runner, version, image)
    compose_flow.deploy(
        settings,
        runner,
        release,
        reason=reason,
        lock_wait=float(lock_wait),
        break_lock=break_lock,
        as_json=json,
    )


@task(
    help=flag_help(
        "env", "to", "lock-wait", "break-lock", "reason", "dry-run", "set", "json", own=HELP
    ),
    iterable=["set"],
)
@reports_errors
def rollback(
    c,
    env=None,
    to=None,
    lock_wait=0,
    break_lock=False,
    reason="",
    dry_run=False,
    set=None,
    json=False,
):
    """Go back to --to or the ledger's last good release, the same blue-green way."""
    from shipwright.flow import compose as compose_flow

    compose_flow.rollback(
        settings_for(_env(env), set),
        runner_for(c, dry_run),
        to,
        reason=reason,
        lock_wait=float(lock_wait),
        break_lock=break_lock,
        as_json=json,
    )


@task(help=flag_help("env", "set", "json", own=HELP), iterable=["set"])
@reports_errors
def status(c, env=None, set=None, json=False):
    """Which slot serves on each host, its version and container health."""
    from shipwright.flow import compose as compose_flow

    compose_flow.show_status(settings_for(_env(env), set), runner_for(c), as_json=json)


@task(help=flag_help("env", "limit", "set", "json", own=HELP), iterable=["set"])
@reports_errors
def history(c, env=None, limit=20, set=None, json=False):
    """The ledger: every deploy, rollback and lock break, newest first (and the lock)."""
    from shipwright.flow import compose as compose_flow

    compose_flow.show_history(settings_for(_env(env), set), runner_for(c), int(limit), as_json=json)


def _file(env, file):
    from shipwright.compose import local

    return file or (local.DEV_FILE if env == "development" else local.DEFAULT_FILE)


@task(help=flag_help("env", "file", "set", "dry-run", own=HELP), iterable=["set"])
@reports_errors
def up(c, env="development", file=None, set=None, dry_run=False):
    """Start the local Compose stack and wait until every service is healthy."""
    from shipwright.compose import local

    local.up(settings_for(_env(env), set), runner_for(c, dry_run), _file(env, file))


@task(help=flag_help("env", "file", "volumes", "set", "dry-run", own=HELP), iterable=["set"])
@reports_errors
def down(c, env="development", file=None, volumes=False, set=None, dry_run=False):
    """Stop and remove the local Compose stack."""
    from shipwright.compose import local

    local.down(
        settings_for(_env(env), set), runner_for(c, dry_run), _file(env, file), volumes=volumes
    )


@task(help=flag_help("env", "file", "set", "json", own=HELP), iterable=["set"])
@reports_errors
def ps(c, env="development", file=None, set=None, json=False):
    """The local stack's containers: service, state, health."""
    from shipwright.compose import local
    from shipwright.output import emit_json, table

    rows = local.ps(settings_for(_env(env), set), runner_for(c), _file(env, file))
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


@task(help=flag_help("env", "file", "follow", "since", "set", own=HELP), iterable=["set"])
@reports_errors
def logs(c, env="development", file=None, follow=False, since=None, set=None):
    """Logs: of the local stack for development, else of the serving container on each host."""
    from shipwright.compose import local
    from shipwright.flow import compose as compose_flow

    settings, runner = settings_for(_env(env), set), runner_for(c)
    if env == "development" or file:
        local.logs(settings, runner, _file(env, file), follow)
    else:
        compose_flow.logs(settings, runner, follow=follow, since=since)
