"""deploy, rollback, status, history, logs: one flow for every target (DEPLOY_TARGET)."""

from invoke import task

from shipwright.cli import flag_help, reports_errors, runner_for, settings_for

HELP = {
    "override-branch": "deploy although the branch rules say otherwise (recorded)",
    "no-watch": "skip the post-deploy watch window",
    "dry-run": "print the plan, gates included, and change nothing",
}


@task(
    help=flag_help(
        "env",
        "version",
        "reason",
        "lock-wait",
        "break-lock",
        "override-branch",
        "no-watch",
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
    env,
    version=None,
    reason="",
    lock_wait=0,
    break_lock=False,
    override_branch=False,
    no_watch=False,
    dry_run=False,
    set=None,
    json=False,
):
    """Release a version: gates, lock, deploy, verify, watch, record, notify."""
    from shipwright.flow import commands

    commands.deploy(
        settings_for(env, set),
        runner_for(c, dry_run),
        version=version,
        reason=reason,
        lock_wait=float(lock_wait),
        break_lock=break_lock,
        override_branch=override_branch,
        watch=not no_watch,
        as_json=json,
    )


@task(
    help=flag_help(
        "env", "to", "reason", "lock-wait", "break-lock", "dry-run", "set", "json", own=HELP
    ),
    iterable=["set"],
)
@reports_errors
def rollback(
    c, env, to=None, reason="", lock_wait=0, break_lock=False, dry_run=False, set=None, json=False
):
    """Return to the last good (or the named) release, verified."""
    from shipwright.flow import commands

    commands.rollback(
        settings_for(env, set),
        runner_for(c, dry_run),
        to=to,
        reason=reason,
        lock_wait=float(lock_wait),
        break_lock=break_lock,
        as_json=json,
    )


@task(help=flag_help("env", "set", "json", own=HELP), iterable=["set"])
@reports_errors
def status(c, env, set=None, json=False):
    """What serves now, per unit."""
    from shipwright.flow import commands

    commands.status(settings_for(env, set), runner_for(c), as_json=json)


@task(help=flag_help("env", "set", "json", "limit", own=HELP), iterable=["set"])
@reports_errors
def history(c, env, set=None, json=False, limit=20):
    """What served: the ledger, newest first."""
    from shipwright.flow import commands

    commands.history(settings_for(env, set), runner_for(c), as_json=json, limit=int(limit))


@task(help=flag_help("env", "set", "follow", "since", own=HELP), iterable=["set"])
@reports_errors
def logs(c, env, set=None, follow=False, since=None):
    """The app's logs from where it serves."""
    from shipwright.flow import commands

    commands.logs(settings_for(env, set), runner_for(c), follow=follow, since=since)
