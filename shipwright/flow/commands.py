"""What the top-level deploy, rollback, status, history, logs and run tasks do, for
every DEPLOY_TARGET, without Invoke: open the environment, run the flow, render the
result (table or JSON, and the CI step summary), raise the exit code.

Exit messages are written once, here: the flow returns a Result, this module says
what it means for the user.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence

from shipwright import output
from shipwright.domain import Release, Run, Status
from shipwright.errors import ConfigError, ExitCode, ShipwrightError
from shipwright.flow import release as flow
from shipwright.flow.hooks import hooks_for
from shipwright.flow.session import opened
from shipwright.gitinfo import branch, commit_sha
from shipwright.output import emit_json, markdown_table, say, step_summary, table
from shipwright.runner import Runner
from shipwright.settings import Settings
from shipwright.targets.base import Target
from shipwright.timing import Stopwatch

WHAT_FAILED = {
    ExitCode.FAILED: "nothing changed: the previous release still serves",
    ExitCode.RESTORED: "the previous release serves again",
    ExitCode.BROKEN: "NOT restored everywhere: a human is needed",
}
UNIT_COLUMNS = ("Unit", "Ended", "Detail")


def deploy(
    settings: Settings,
    runner: Runner,
    *,
    version: str | None = None,
    image: str | None = None,
    reason: str = "",
    lock_wait: float = 0.0,
    break_lock: bool = False,
    override_branch: bool = False,
    override_audit: bool = False,
    gates: bool = True,
    watch: bool = True,
    yes: bool = False,
    as_json: bool = False,
    release: Release | None = None,
    target: Target | None = None,
    clock: Stopwatch | None = None,
) -> flow.Result:
    """One release through the one flow. Under --dry-run the gates are printed even
    when the version cannot be resolved, then the resolution error. ``release`` and
    ``target``: given by the caller (tests, benchmarks) instead of resolved/opened;
    ``clock``: the CLI's, started with the process (default: starts now)."""
    clock = clock or Stopwatch()
    opts = flow.Options(
        reason=reason,
        lock_wait=lock_wait,
        break_lock=break_lock,
        override_branch=override_branch,
        override_audit=override_audit,
        gates=gates,
        watch=watch,
        branch=branch(),
        yes=yes,
        ask=terminal_prompt(),
        hooks=hooks_for(settings),
    )
    try:
        with clock.phase("release"):
            release = release or flow.release_for(settings, runner, version, image)
    except ConfigError:
        if runner.dry_run and gates:
            unresolved = Release(settings.environment, version or "?", "", git_sha=commit_sha())
            with opened(settings, runner, target=target) as dep:
                flow.preflight(dep, unresolved, opts)
        raise
    with opened(settings, runner, staging=gates, target=target) as dep:
        clock.lap("open")
        result = flow.deploy(dep, release, opts, clock)
    return _finish(result, as_json)


def rollback(
    settings: Settings,
    runner: Runner,
    *,
    to: str | Release | None = None,
    reason: str = "",
    lock_wait: float = 0.0,
    break_lock: bool = False,
    yes: bool = False,
    force: bool = False,
    as_json: bool = False,
    target: Target | None = None,
    clock: Stopwatch | None = None,
) -> flow.Result:
    clock = clock or Stopwatch()
    opts = flow.Options(
        reason=reason or "rollback",
        lock_wait=lock_wait,
        break_lock=break_lock,
        yes=yes,
        ask=terminal_prompt(),
        hooks=hooks_for(settings),
        force=force,
    )
    with opened(settings, runner, staging=False, target=target) as dep:
        clock.lap("open")
        result = flow.rollback(dep, to, opts, clock)
    return _finish(result, as_json)


def terminal_prompt() -> Callable[[str], str] | None:
    """``input`` when a person can answer (stdin and stdout are terminals), else None."""
    return input if sys.stdin.isatty() and sys.stdout.isatty() else None


def prune(settings: Settings, runner: Runner, *, lock_wait: float = 0.0) -> None:
    """Stop what is past its keep-warm time and drop what the ledger no longer needs."""
    opts = flow.Options(reason="prune", lock_wait=lock_wait)
    with opened(settings, runner, staging=False) as dep:
        flow.prune(dep, opts)
    if not runner.dry_run:
        output.status(True, f"{settings.environment}: pruned")


def _finish(result: flow.Result, as_json: bool) -> flow.Result:
    """The result table (or JSON), the CI step summary, then the exit code. The phases
    shown are the run's laps: they add up to its wall time, closing the target's."""
    outcome = result.outcome
    if outcome is None:  # a dry run: the plan was printed
        return result
    result.clock.lap("close")
    result.seconds = result.clock.seconds
    phases = result.clock.phases
    rows = [_unit_row(name, where) for name, where in outcome.units.items()]
    title = f"{result.action} {result.release.version}: {result.recorded} in {result.seconds:.1f}s"
    if as_json:
        emit_json(
            {
                "action": result.action,
                "version": result.release.version,
                "result": result.recorded,
                "exit_code": int(result.exit_code),
                "message": outcome.message,
                "seconds": round(result.seconds, 3),
                "phases": phases,
                "units": outcome.units,
                "metrics": result.metrics,
                "gates": [c.__dict__ for c in result.gates] if result.gates else [],
                "entry": result.entry.id if result.entry else None,
                "postmortem": result.postmortem,
            }
        )
    else:
        table(title, UNIT_COLUMNS, rows)
        say("phases: " + ", ".join(f"{k} {v:.2f}s" for k, v in phases.items()))
    step_summary(f"### {title}\n\n" + markdown_table(UNIT_COLUMNS, rows))
    if result.ok:
        output.status(True, title)
        return result
    why = "; ".join(result.entry.notes) if result.entry and result.entry.notes else outcome.message
    raise ShipwrightError(
        f"{result.action} {result.release.version} failed ({why}); {WHAT_FAILED[result.exit_code]}",
        result.exit_code,
    )


def _unit_row(name: str, where: str) -> tuple[str, str, str]:
    ended, _, detail = where.partition(": ")
    return name, ended, detail


def status(settings: Settings, runner: Runner, *, as_json: bool = False) -> Status:
    with opened(settings, runner, staging=False) as dep:
        state = dep.target.status()
    if as_json:
        emit_json(state.to_dict())
        return state
    serving = state.serving
    say(f"{settings.environment}: serving {serving.version if serving else 'nothing'}")
    if state.rows:
        table(f"{settings.environment} ({dep.target.name})", state.columns, state.rows)
    for note in state.notes:
        say(f"  {note}")
    return state


def history(settings: Settings, runner: Runner, *, as_json: bool = False, limit: int = 20) -> None:
    with opened(settings, runner, staging=False) as dep:
        entries = dep.ledger.history(limit)
        lock = dep.lock.store.read(settings.environment)
    if as_json:
        emit_json(
            {"lock": lock.to_dict() if lock else None, "entries": [e.to_dict() for e in entries]}
        )
        return
    if lock:
        say(f"locked: {lock.describe()}")
    rows = [
        (
            e.when,
            e.action,
            e.version or "-",
            e.result,
            e.who,
            f"{sum(e.phases.values()):.1f}s" if e.phases else "-",
            ("" if e.gates is not None or e.action != "deploy" else "ungated; ")
            + (e.reason or "; ".join(e.notes))[:60],
        )
        for e in entries
    ]
    table(
        f"{settings.environment}: ledger (newest first)",
        ("When", "Action", "Version", "Result", "Who", "Took", "Why / notes"),
        rows,
    )


def logs(settings: Settings, runner: Runner, *, follow: bool = False, since: str | None = None):
    with opened(settings, runner, staging=False) as dep:
        dep.target.logs(follow=follow, since=since)


def run(
    settings: Settings,
    runner: Runner,
    command: Sequence[str],
    *,
    version: str | None = None,
    image: str | None = None,
) -> Run:
    """``command`` once in a release's image on the target (default: what serves now);
    raises with the command's own exit code when it fails."""
    if not command:
        raise ConfigError("name the command after --: invoke run --env ENV -- CMD [ARGS…]")
    with opened(settings, runner, staging=False) as dep:
        if version or image:
            release = flow.release_for(settings, runner, version, image)
        else:
            release = dep.target.current()
            if release is None:
                raise ConfigError(
                    f"nothing serves in {settings.environment!r}: name a release with "
                    "--version or --image"
                )
        say(f"→ run in {release.version} on {dep.target.name}: {' '.join(command)}")
        result = dep.target.run(release, list(command))
    if runner.dry_run:
        return result
    where = f" on {result.where}" if result.where else ""
    if not result.ok:
        code = result.exit_code if 0 < result.exit_code < 256 else int(ExitCode.FAILED)
        raise ShipwrightError(f"{' '.join(command)} exited {result.exit_code}{where}", code)
    output.status(True, f"{' '.join(command)} exited 0{where}")
    return result
