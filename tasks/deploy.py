"""deploy, rollback, status, history, logs, run, prune: one flow for every target
(DEPLOY_TARGET)."""

from invoke import task

from shipwright.cli import (
    flag_help,
    remainder,
    reports_errors,
    require_env,
    runner_for,
    settings_for,
)

HELP = {
    "image": "deploy this image reference (repo[:tag]@sha256:…) instead of a recorded version",
    "override-branch": "deploy although the branch rules say otherwise (recorded)",
    "override-audit": "deploy to production although a scanner could not audit (recorded)",
    "no-gates": "skip the preflight gates (recorded as ungated in the ledger)",
    "no-watch": "skip the post-deploy watch window",
    "yes": "approve without the prompt where the environment needs approval (recorded)",
    "dry-run": "print the plan, gates included, and change nothing",
    "command": "the command, when not given after -- (split like a shell would)",
    "force": "roll back although an applied contract migration forbids it (recorded)",
}
RUN_VERSION = {"version": "run in this recorded version's image (default: what serves now)"}


def started():
    """The run's stopwatch, from this process's start: interpreter, imports and Invoke's
    parsing are its first lap (``start-up``)."""
    from shipwright.timing import Stopwatch, process_started

    clock = Stopwatch(process_started())
    clock.lap("start-up")
    return clock


@task(
    auto_shortflags=False,
    help=flag_help(
        "env",
        "version",
        "image",
        "reason",
        "lock-wait",
        "break-lock",
        "override-branch",
        "override-audit",
        "no-gates",
        "no-watch",
        "yes",
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
    reason="",
    lock_wait=0,
    break_lock=False,
    override_branch=False,
    override_audit=False,
    no_gates=False,
    no_watch=False,
    yes=False,
    dry_run=False,
    set=None,
    json=False,
):
    """Release a version: gates, lock, deploy, verify, watch, record, notify."""
    from shipwright.flow import commands

    clock = started()
    with clock.phase("settings"):
        settings = settings_for(require_env(env), set)
    commands.deploy(
        settings,
        runner_for(c, dry_run),
        version=version,
        image=image,
        reason=reason,
        lock_wait=float(lock_wait),
        break_lock=break_lock,
        override_branch=override_branch,
        override_audit=override_audit,
        gates=not no_gates,
        watch=not no_watch,
        yes=yes,
        as_json=json,
        clock=clock,
    )


@task(
    auto_shortflags=False,
    help=flag_help(
        "env",
        "to",
        "reason",
        "lock-wait",
        "break-lock",
        "yes",
        "force",
        "dry-run",
        "set",
        "json",
        own=HELP,
    ),
    iterable=["set"],
)
@reports_errors
def rollback(
    c,
    env=None,
    to=None,
    reason="",
    lock_wait=0,
    break_lock=False,
    yes=False,
    force=False,
    dry_run=False,
    set=None,
    json=False,
):
    """Return to the last good (or the named) release, verified."""
    from shipwright.flow import commands

    clock = started()
    with clock.phase("settings"):
        settings = settings_for(require_env(env), set)
    commands.rollback(
        settings,
        runner_for(c, dry_run),
        to=to,
        reason=reason,
        lock_wait=float(lock_wait),
        break_lock=break_lock,
        yes=yes,
        force=force,
        as_json=json,
        clock=clock,
    )


@task(auto_shortflags=False, help=flag_help("env", "set", "json"), iterable=["set"])
@reports_errors
def status(c, env=None, set=None, json=False):
    """What serves now, per unit (host, service, task, pod)."""
    from shipwright.flow import commands

    commands.status(settings_for(require_env(env), set), runner_for(c), as_json=json)


@task(auto_shortflags=False, help=flag_help("env", "set", "json", "limit"), iterable=["set"])
@reports_errors
def history(c, env=None, set=None, json=False, limit=20):
    """What served: the ledger, newest first (and who holds the lock)."""
    from shipwright.flow import commands

    commands.history(
        settings_for(require_env(env), set), runner_for(c), as_json=json, limit=int(limit)
    )


@task(auto_shortflags=False, help=flag_help("env", "set", "follow", "since"), iterable=["set"])
@reports_errors
def logs(c, env=None, set=None, follow=False, since=None):
    """The app's logs from where it serves."""
    from shipwright.flow import commands

    commands.logs(settings_for(require_env(env), set), runner_for(c), follow=follow, since=since)


@task(
    name="run",
    auto_shortflags=False,
    help=flag_help("env", "image", "command", "set", "dry-run", own=HELP | RUN_VERSION),
    iterable=["set"],
)
@reports_errors
def run_(c, env=None, version=None, image=None, command=None, set=None, dry_run=False):
    """A one-off command in a release's image on the target: invoke run --env X -- CMD."""
    import shlex

    from shipwright.flow import commands

    argv = shlex.split(command) if command else remainder()
    commands.run(
        settings_for(require_env(env), set),
        runner_for(c, dry_run),
        argv,
        version=version,
        image=image,
    )


@task(help=flag_help("env", "lock-wait", "set", "dry-run"), iterable=["set"])
@reports_errors
def prune(c, env=None, lock_wait=0, set=None, dry_run=False):
    """Stop what is past its keep-warm time (containers stay) and unneeded images."""
    from shipwright.flow import commands

    commands.prune(
        settings_for(require_env(env), set), runner_for(c, dry_run), lock_wait=float(lock_wait)
    )
