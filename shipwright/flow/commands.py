"""What the top-level deploy/rollback/status/history/logs tasks do, without Invoke."""

from __future__ import annotations

from shipwright import output
from shipwright.errors import ExitCode, ShipwrightError
from shipwright.flow import release as flow
from shipwright.flow.open import deployment
from shipwright.gitinfo import branch
from shipwright.output import emit_json
from shipwright.runner import Runner
from shipwright.settings import Settings
from shipwright.targets.base import RESULT_FOR

WHAT_FAILED = {
    ExitCode.FAILED: "nothing changed: the previous release still serves",
    ExitCode.RESTORED: "the previous release serves again",
    ExitCode.BROKEN: "NOT restored everywhere: a human is needed",
}


def deploy(
    settings: Settings,
    runner: Runner,
    *,
    version: str | None = None,
    reason: str = "",
    lock_wait: float = 0.0,
    break_lock: bool = False,
    override_branch: bool = False,
    watch: bool = True,
    as_json: bool = False,
) -> flow.Result:
    release = flow.release_for(settings, runner, version)
    opts = flow.Options(
        reason=reason,
        lock_wait=lock_wait,
        break_lock=break_lock,
        override_branch=override_branch,
        watch=watch,
        branch=branch(),
    )
    with deployment(settings, runner) as dep:
        result = flow.deploy(dep, release, opts)
    return _finish(result, as_json)


def rollback(
    settings: Settings,
    runner: Runner,
    *,
    to: str | None = None,
    reason: str = "",
    lock_wait: float = 0.0,
    break_lock: bool = False,
    as_json: bool = False,
) -> flow.Result:
    opts = flow.Options(reason=reason or "rollback", lock_wait=lock_wait, break_lock=break_lock)
    with deployment(settings, runner) as dep:
        result = flow.rollback(dep, to, opts)
    return _finish(result, as_json)


def _finish(result: flow.Result, as_json: bool) -> flow.Result:
    outcome = result.outcome
    if as_json:
        emit_json(
            {
                "action": result.action,
                "version": result.release.version,
                "exit_code": int(result.exit_code),
                "result": RESULT_FOR[result.exit_code],
                "metrics": result.metrics,
                "units": outcome.units if outcome else {},
                "gates": [c.__dict__ for c in result.gates] if result.gates else [],
                "postmortem": result.postmortem,
            }
        )
    if result.ok:
        output.status(True, f"{result.action} {result.release.version}: done")
        return result
    notes = "; ".join(result.entry.notes) if result.entry else ""
    raise ShipwrightError(
        f"{result.action} {result.release.version} failed ({notes}); "
        f"{WHAT_FAILED[result.exit_code]}",
        result.exit_code,
    )


def status(settings: Settings, runner: Runner, *, as_json: bool = False):
    from shipwright.flow.compose import show_status

    return show_status(settings, runner, as_json=as_json)


def history(settings: Settings, runner: Runner, *, as_json: bool = False, limit: int = 20):
    from shipwright.flow.compose import show_history

    return show_history(settings, runner, as_json=as_json, limit=limit)


def logs(settings: Settings, runner: Runner, *, follow: bool = False, since: str | None = None):
    from shipwright.flow.compose import logs as host_logs

    return host_logs(settings, runner, follow=follow, since=since)
