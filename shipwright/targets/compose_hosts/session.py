"""What each compose.* task does, importable without Invoke: build the target, lock and
ledger for an environment, run the flow, render the result, raise the exit code.

Why not in tasks/compose.py: nox sessions, tests and the benchmark call the same
functions; the task module only parses flags.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from shipwright.errors import ConfigError, ExitCode, ShipwrightError
from shipwright.ledger import Ledger
from shipwright.lock import DeployLock
from shipwright.output import emit_json, markdown_table, say, status, step_summary, table
from shipwright.runner import Runner
from shipwright.settings import Settings
from shipwright.targets.base import Release
from shipwright.targets.compose_hosts import flow
from shipwright.targets.compose_hosts.rollout import Hook
from shipwright.targets.compose_hosts.target import ComposeHostsTarget

RESULT_COLUMNS = ("Host", "Batch", "Ended at", "Version", "Seconds")


@dataclass
class Context:
    target: ComposeHostsTarget
    ledger: Ledger
    lock: DeployLock


@contextmanager
def opened(settings: Settings, runner: Runner, hook: Hook | None = None) -> Iterator[Context]:
    """The target with its lock and ledger (kept on the hosts); connections closed after."""
    target = ComposeHostsTarget(settings, runner, hook=hook)
    ledger = Ledger(target.ledger_store(), settings.environment)
    try:
        yield Context(
            target, ledger, DeployLock(target.lock_store(), settings.environment, ledger=ledger)
        )
    finally:
        target.close()


def release_for(
    settings: Settings, runner: Runner, version: str | None = None, image: str | None = None
) -> Release:
    """``--image REF`` as given, else the pushed record of ``--version`` (default: the
    newest push of the current branch)."""
    if image:
        name = image.split("@", 1)[0].rsplit("/", 1)[-1]
        tag = name.split(":", 1)[1] if ":" in name else ""
        digest = image.partition("@")[2]
        return Release(settings.environment, version or tag or digest[7:19], image)
    from shipwright.image import record

    if version is None:
        from shipwright.image.tags import git_info

        branch = git_info(runner).branch
        found = record.latest_for_branch(branch)
        if found is None or not found.digest:
            raise ConfigError(
                f"no pushed image for branch {branch!r}: run invoke image.push, or pass "
                "--version VERSION or --image REPO@sha256:…"
            )
        version = found.version
    rec = record.resolve(version)
    return Release(settings.environment, rec.version, rec.reference, git_sha=rec.git_sha)


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
) -> flow.Report | None:
    """Plan only under --dry-run (nothing connects); otherwise lock -> deploy -> record."""
    with opened(settings, runner, hook) as ctx:
        if runner.dry_run:
            show_plan(ctx.target, release, "deploy")
            return None
        say(f"→ deploy {release.version} to {settings.environment} ({len(ctx.target.hosts)} hosts)")
        report = flow.deploy(
            ctx.target,
            ctx.ledger,
            ctx.lock,
            release,
            reason=reason,
            lock_wait=lock_wait,
            break_lock=break_lock,
        )
        finish(ctx.target, report, as_json)
        return report


def rollback(
    settings: Settings,
    runner: Runner,
    to: str | None = None,
    *,
    reason: str = "",
    lock_wait: float = 0,
    break_lock: bool = False,
    as_json: bool = False,
    hook: Hook | None = None,
) -> flow.Report | None:
    with opened(settings, runner, hook) as ctx:
        if runner.dry_run:
            current = ctx.target.current()
            release = flow.rollback_target(ctx.target, ctx.ledger, to)
            say(f"serving now: {current.version if current else 'nothing'}")
            show_plan(ctx.target, release, "rollback")
            return None
        report = flow.rollback(
            ctx.target,
            ctx.ledger,
            ctx.lock,
            to,
            reason=reason,
            lock_wait=lock_wait,
            break_lock=break_lock,
        )
        finish(ctx.target, report, as_json)
        return report


def show_plan(target: ComposeHostsTarget, release: Release, action: str) -> None:
    plan = target.plan(release, inspect=True, action=action)  # reads the slots, changes nothing
    say(f"Plan ({action}, nothing is changed):")
    for step in plan.steps:
        say(f"  {step}")


def finish(target: ComposeHostsTarget, report: flow.Report, as_json: bool) -> None:
    """The result table (or JSON), the CI step summary, then the exit code."""
    rows = [
        (r.name, r.batch or "-", r.unit().split(":", 1)[0], r.serving_version, f"{r.seconds:.1f}")
        for r in target.last_runs
    ]
    version = report.outcome.release.version if report.outcome.release else "?"
    title = (
        f"{report.action} {version}: {flow.RESULT_FOR[report.exit_code]} in {report.seconds:.1f}s"
    )
    if as_json:
        emit_json(
            {
                "action": report.action,
                "result": flow.RESULT_FOR[report.exit_code],
                "exit_code": int(report.exit_code),
                "message": report.outcome.message,
                "phases": report.outcome.phases,
                "hosts": report.outcome.units,
                "entry": report.entry.id if report.entry else None,
            }
        )
    else:
        table(title, RESULT_COLUMNS, rows)
        phases = ", ".join(f"{k} {v:.1f}s" for k, v in report.outcome.phases.items())
        say(f"phases: {phases}")
        for note in report.notes:
            status(None, note)
    step_summary(f"### {title}\n\n" + markdown_table(RESULT_COLUMNS, rows))
    if report.exit_code != ExitCode.OK:
        raise ShipwrightError(_failure(report), report.exit_code)
    status(True, title)


def _failure(report: flow.Report) -> str:
    what = {
        ExitCode.FAILED: "nothing changed: every host still serves what it served before",
        ExitCode.RESTORED: "every host that had switched serves the previous release again",
        ExitCode.BROKEN: "NOT restored everywhere -- a human is needed; hosts: "
        + "; ".join(f"{h}: {u}" for h, u in report.outcome.units.items()),
    }[report.exit_code]
    return f"{report.action} failed ({report.outcome.message}); {what}"


def show_status(settings: Settings, runner: Runner, as_json: bool = False) -> dict[str, Any]:
    with opened(settings, runner) as ctx:
        data = ctx.target.status()
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
    with opened(settings, runner) as ctx:
        entries = ctx.ledger.history(limit)
        lock = ctx.lock.store.read(settings.environment)
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
    with opened(settings, runner) as ctx:
        ctx.target.logs(follow=follow, since=since)
