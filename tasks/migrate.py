"""migrate.*: MongoDB migrations -- create, status, up, down, backfill, restore.

Migrations are the app's JavaScript modules (app/scripts/migrations/NNNN-name.js), run
by the app's runner in the release's image on the target, or here with --local; the
lock, the changelog and the backups live in the environment's MongoDB (docs/migrations.md).
"""

from invoke import task

from shipwright.cli import (
    count_flag,
    flag_help,
    reports_errors,
    require_env,
    runner_for,
    settings_for,
)

HELP = {
    "dry-run": "print what would run, in order (lock, backups, runs, changelog), write nothing",
    "local": "run the migrations on this machine (app/node_modules) instead of the target",
    "version": "run in this recorded version's image (default: what serves now)",
    "image": "run in this image reference (repo[:tag]@sha256:…)",
    "to": "stop at this migration (up: apply it; down: revert everything after it)",
    "steps": "how many applied migrations to revert, newest first (default 1)",
    "rehearse": "up, down, up for each reversible migration (staging: the gate's evidence)",
    "batch": "documents per backfill batch (default MIGRATE_BATCH_SIZE)",
    "backup": "the backup ID to restore (from the changelog or migrate.up's output)",
    "yes": "confirm a restore in production",
    "phase": "expand, backfill or contract",
    "collections": "comma-separated collections the migration changes (backed up first)",
    "release": "contract only: the release from which the code no longer needs the old shape",
    "name": "the migration's name (lower-case letters, digits, dashes)",
}
LOCK_FLAGS = ("reason", "lock-wait", "break-lock")


def _session(env, set, dry_run, local, version, image, c):
    from shipwright.migrate import commands

    settings, runner = settings_for(require_env(env), set), runner_for(c, dry_run)
    return commands, commands.session(settings, runner, local=local, version=version, image=image)


@task(
    help=flag_help("name", "env", "set", "phase", "collections", "release", "dry-run", own=HELP),
    iterable=["set"],
)
@reports_errors
def create(
    c,
    name=None,
    env="development",
    phase="expand",
    collections="",
    release="",
    set=None,
    dry_run=False,
):
    """Write app/scripts/migrations/NNNN-NAME.js (the next prefix): --name NAME."""
    from shipwright.errors import ConfigError
    from shipwright.migrate import commands

    if not name:
        raise ConfigError("name the migration: invoke migrate.create --name add-plan-limits")
    commands.create(
        settings_for(env, set),
        runner_for(c, dry_run),
        name,
        phase=phase,
        collections=collections,
        release=release,
    )


@task(help=flag_help("env", "set", "json", own=HELP), iterable=["set"])
@reports_errors
def status(c, env=None, set=None, json=False):
    """Every migration: phase, state, checksum, applied at, by, release, duration."""
    from shipwright.migrate import commands

    commands.status_of(settings_for(require_env(env), set), runner_for(c), as_json=json)


@task(
    help=flag_help(
        "env",
        "set",
        "to",
        "rehearse",
        "local",
        "version",
        "image",
        "dry-run",
        *LOCK_FLAGS,
        own=HELP,
    ),
    iterable=["set"],
)
@reports_errors
def up(
    c,
    env=None,
    to=None,
    rehearse=False,
    local=False,
    version=None,
    image=None,
    reason="",
    lock_wait=0,
    break_lock=False,
    dry_run=False,
    set=None,
):
    """Apply pending expand (and permitted contract) migrations, in order."""
    from shipwright.migrate import engine

    commands, opened = _session(env, set, dry_run, local, version, image, c)
    with opened as session:
        engine.up(
            session,
            to=to,
            rehearse=rehearse,
            lock=commands.lock_options(reason, float(lock_wait), break_lock),
        )


@task(
    help=flag_help(
        "env", "set", "to", "steps", "local", "version", "image", "dry-run", *LOCK_FLAGS, own=HELP
    ),
    iterable=["set"],
)
@reports_errors
def down(
    c,
    env=None,
    to=None,
    steps=None,
    local=False,
    version=None,
    image=None,
    reason="",
    lock_wait=0,
    break_lock=False,
    dry_run=False,
    set=None,
):
    """Revert the newest applied migration(s): --steps N, or all after --to NAME."""
    from shipwright.errors import ConfigError
    from shipwright.migrate import engine

    if to and steps:
        raise ConfigError("give --to or --steps, not both")
    steps = count_flag("steps", steps)
    commands, opened = _session(env, set, dry_run, local, version, image, c)
    with opened as session:
        engine.down(
            session,
            to=to,
            steps=steps,
            lock=commands.lock_options(reason, float(lock_wait), break_lock),
        )


@task(
    help=flag_help(
        "env", "set", "batch", "local", "version", "image", "dry-run", *LOCK_FLAGS, own=HELP
    ),
    iterable=["set"],
)
@reports_errors
def backfill(
    c,
    env=None,
    batch=None,
    local=False,
    version=None,
    image=None,
    reason="",
    lock_wait=0,
    break_lock=False,
    dry_run=False,
    set=None,
):
    """Run the pending backfill in batches; resumable, idempotent."""
    from shipwright.migrate import backfill as step

    batch = count_flag("batch", batch)
    commands, opened = _session(env, set, dry_run, local, version, image, c)
    with opened as session:
        step.run(
            session,
            batch=batch,
            lock=commands.lock_options(reason, float(lock_wait), break_lock),
        )


@task(
    help=flag_help("env", "set", "backup", "yes", "dry-run", *LOCK_FLAGS, own=HELP),
    iterable=["set"],
)
@reports_errors
def restore(
    c,
    env=None,
    backup=None,
    yes=False,
    reason="",
    lock_wait=0,
    break_lock=False,
    dry_run=False,
    set=None,
):
    """Restore the collections of a backup (mongorestore, else pymongo)."""
    from shipwright.errors import ConfigError
    from shipwright.migrate import commands

    if not backup:
        raise ConfigError("name the backup: invoke migrate.restore --env ENV --backup ID")
    commands.restore(
        settings_for(require_env(env), set),
        runner_for(c, dry_run),
        backup,
        yes=yes,
        lock=commands.lock_options(reason, float(lock_wait), break_lock),
    )
