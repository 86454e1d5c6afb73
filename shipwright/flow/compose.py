"""What each compose.* task does, importable without Invoke: open the Compose-hosts
target with its lock and ledger (kept on the hosts), run the deploy flow, render the
result, raise the exit code.

Why not in tasks/compose.py: nox sessions, tests and the benchmark call the same
functions; the task module only parses flags. Why the generic flow: compose.deploy is
the direct, ungated entry point (no preflight gates, no watch) to the same
lock -> deploy -> verify -> record sequence that ``invoke deploy`` runs gated.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from shipwright.errors import ExitCode, ShipwrightError
from shipwright.flow import release as flow
from shipwright.ledger import Ledger
from shipwright.lock import DeployLock
from shipwright.output import emit_json, markdown_table, say, status, step_summary, table
from shipwright.runner import Runner
from shipwright.settings import Settings
from shipwright.targets.base import Release
from shipwright.targets.compose_hosts.rollout import Hook
from shipwright.targets.compose_hosts.target import ComposeHostsTarget

RESULT_COLUMNS = ("Host", "Batch", "Ended at", "Version", "Seconds")


@contextmanager
def opened(
    settings: Settings, runner: Runner, hook: Hook | None = None
) -> Iterator[flow.Deployment]:
    """The target with its lock and ledger (kept on the hosts); connections closed after."""
    target = ComposeHostsTarget(settings, runner, hook=hook)
    ledger = Ledger(target.ledger_store(), settings.environment)
    lock = DeployLock(target.lock_store(), settings.environment, ledger=ledger)
    try:
        yield flow.Deployment(settings, runner, target, ledger, lock)
    finally:
        target.close()


def _options(reason: str, lock_wait: float, break_lock: bool) -> flow.Options:
    """Direct and ungated: no preflight gates, no watch window."""
    return flow.Options(
        gates=False, watch=False, reason=reason, lock_wait=lock_wait, break_lock=break_lock
    )


def deploy(
    settings: Settings,
    runner: Runner,
    release: Release,
    *,
    reason: str = "",
    lock_wait: float = 0,
    break_lock: bool = False,
    as_json: bool = False,
    hook: Hook | None = None,
) -> flow.Result | None:
    """Plan only under --dry-run (read-only: the hosts' slots); otherwise the flow's
    lock -> deploy -> verify -> record."""
    with opened(settings, runner, hook) as dep:
        if runner.dry_run:
            show_plan(dep.target, release, "deploy")
            return None
        say(f"→ deploy {release.version} to {settings.environment} ({len(dep.target.hosts)} hosts)")
        result = flow.deploy(dep, release, _options(reason, lock_wait, break_lock))
        finish(dep.target, result, as_json)
        return result


def rollback(
    settings: Settings,
    runner: Runner,
    to: str | Release | None = None,
    *,
    reason: str = "",
    lock_wait: float = 0,
    break_lock: bool = False,
    as_json: bool = False,
    hook: Hook | None = None,
) -> flow.Result | None:
    """Back to ``to`` (a version from the ledger, or a Release) or the last good one."""
    with opened(settings, runner, hook) as dep:
        if runner.dry_run:
            current = dep.target.current()
            release = to if isinstance(to, Release) else dep.ledger.rollback_release(to, current)
            say(f"serving now: {current.version if current else 'nothing'}")
            show_plan(dep.target, release, "rollback")
            return None
        result = flow.rollback(dep, to, _options(reason, lock_wait, break_lock))
        finish(dep.target, result, as_json)
        return result


def show_plan(target: ComposeHostsTarget, release: Release, action: str) -> None:
    plan = target.plan(release, inspect=True, action=action)  # reads the slots, changes nothing
    say(f"Plan ({action}, nothing is changed):")
    for step in plan.steps:
        say(f"  {step}")


def finish(target: ComposeHostsTarget, result: flow.Result, as_json: bool) -> None:
    """The result table (or JSON), the CI step summary, then the exit code."""
    rows = [
        (r.name, r.batch or "-", r.unit().split(":", 1)[0], r.serving_version, f"{r.seconds:.1f}")
        for r in target.last_runs
    ]
    outcome = result.outcome
    assert outcome is not None  # the flow ran (not a dry run)
    version = outcome.release.version if outcome.release else result.release.version
    title = f"{result.action} {version}: {result.recorded} in {result.seconds:.1f}s"
    if as_json:
        emit_json(
            {
                "action": result.action,
                "result": result.recorded,
                "exit_code": int(result.exit_code),
                "message": outcome.message,
                "phases": outcome.phases,
                "hosts": outcome.units,
                "entry": result.entry.id if result.entry else None,
            }
        )
    else:
        table(title, RESULT_COLUMNS, rows)
        phases = ", ".join(f"{k} {v:.1f}s" for k, v in outcome.phases.items())
        say(f"phases: {phases}")
    step_summary(f"### {title}\n\n" + markdown_table(RESULT_COLUMNS, rows))
    if result.exit_code != ExitCode.OK:
        raise ShipwrightError(_failure(result), result.exit_code)
    status(True, title)


def _failure(result: flow.Result) -> str:
    outcome = result.outcome
    assert outcome is not None
    what = {
        ExitCode.FAILED: "nothing changed: every host still serves what it served before",
        ExitCode.RESTORED: "every host that had switched serves the previous release again",
        ExitCode.BROKEN: "NOT restored everywhere -- a human is needed; hosts: "
        + "; ".join(f"{h}: {u}" for h, u in outcome.units.items()),
    }[result.exit_code]
    why = "; ".join(result.entry.notes) if result.entry and result.entry.notes else outcome.message
    return f"{result.action} failed ({why}); {what}"


def show_status(settings: Settings, runner: Runner, as_json: bool = False) -> dict[str, Any]:
    with opened(settings, runner) as dep:
        data = dep.target.status()
    if as_json:
        emit_json(data)
        return data
    rows = []
    for host, info in data.items():
        if "error" in info:
            rows.append((host, "-", "-", "-", info["error"]))
            continue
        slot = info.get("active_slot") or "-"
        health = info["slots"].get(slot, {}) if slot != "-" else {}
        other = [
            f"{s}: {v['status']} {v['version'] or ''}".strip()
            for s, v in info["slots"].items()
            if s != slot
        ]
        rows.append(
            (
                host,
                slot,
                info.get("version") or "-",
                f"{health.get('status', '-')} ({health.get('health', '-')}), nginx {info['nginx']}",
                "; ".join(other),
            )
        )
    table(
        f"{settings.environment}: what serves",
        ("Host", "Slot", "Version", "Container", "Other slot"),
        rows,
    )
    return data


def show_history(
    settings: Settings, runner: Runner, limit: int = 20, as_json: bool = False
) -> None:
    with opened(settings, runner) as dep:
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
            e.reason or "; ".join(e.notes)[:60],
        )
        for e in entries
    ]
    table(
        f"{settings.environment}: ledger (newest first)",
        ("When", "Action", "Version", "Result", "Who", "Took", "Why / notes"),
        rows,
    )


def logs(
    settings: Settings, runner: Runner, follow: bool = False, since: str | None = None
) -> None:
    with opened(settings, runner) as dep:
        dep.target.logs(follow=follow, since=since)
