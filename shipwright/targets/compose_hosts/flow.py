"""lock -> deploy/rollback -> record, for the compose.* tasks.

Why here and not in the task: nox sessions, tests and the benchmark drive the same
sequence without Invoke. It only uses the Target protocol, the lock and the ledger,
so the generic deploy flow can take it over unchanged.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from shipwright.errors import ConfigError, ExitCode, ShipwrightError
from shipwright.ledger import Entry, Ledger
from shipwright.lock import DeployLock
from shipwright.targets.base import Outcome, Release


def exit_code_for(outcome: Outcome) -> ExitCode:
    """0 done; 3 failed but the previous release serves again; 1 failed before any
    traffic moved; 4 anything else (a human is needed)."""
    if outcome.ok:
        return ExitCode.OK
    if outcome.restored:
        return ExitCode.RESTORED
    if outcome.units and all(u.startswith("unchanged") for u in outcome.units.values()):
        return ExitCode.FAILED
    return ExitCode.BROKEN


RESULT_FOR = {
    ExitCode.OK: "succeeded",
    ExitCode.FAILED: "failed",
    ExitCode.RESTORED: "restored",
    ExitCode.BROKEN: "broken",
}


@dataclass
class Report:
    action: str
    outcome: Outcome
    entry: Entry | None
    exit_code: ExitCode
    seconds: float
    notes: list[str] = field(default_factory=list)


def deploy(
    target: Any,
    ledger: Ledger,
    lock: DeployLock,
    release: Release,
    *,
    reason: str = "",
    lock_wait: float = 0.0,
    break_lock: bool = False,
    prune: bool = True,
) -> Report:
    return _run("deploy", target, ledger, lock, release, reason, lock_wait, break_lock, prune)


def rollback(
    target: Any,
    ledger: Ledger,
    lock: DeployLock,
    to: str | Release | None = None,
    *,
    reason: str = "",
    lock_wait: float = 0.0,
    break_lock: bool = False,
) -> Report:
    """Back to ``to`` (a version from the ledger, or a Release) or the last good one."""
    release = to if isinstance(to, Release) else rollback_target(target, ledger, to)
    return _run("rollback", target, ledger, lock, release, reason, lock_wait, break_lock, True)


def rollback_target(target: Any, ledger: Ledger, version: str | None) -> Release:
    if version:
        for entry in ledger.history(limit=None):
            if entry.release and entry.version == version and entry.release.get("image"):
                return Release.from_dict(entry.release)
        raise ConfigError(f"version {version!r} is not in the ledger of {ledger.environment!r}")
    current = target.current()
    good = ledger.last_good(exclude_version=current.version if current else None)
    if good is None:
        raise ConfigError(
            f"the ledger of {ledger.environment!r} has no earlier good release to roll back to"
        )
    return good


def _run(action, target, ledger, lock, release, reason, lock_wait, break_lock, prune) -> Report:
    started = time.monotonic()
    with lock.hold(version=release.version, reason=reason, wait=lock_wait, break_first=break_lock):
        previous = target.current()
        try:
            outcome = target.deploy(release) if action == "deploy" else target.rollback(release)
        except ConfigError:
            raise  # bad input: nothing ran, nothing to record
        except BaseException as exc:  # an error or a second Ctrl-C while restoring
            units = {r.name: r.unit() for r in getattr(target, "last_runs", [])}
            ledger.record(
                action,
                release,
                "broken",
                reason=reason,
                hosts=units,
                previous=previous,
                notes=[f"aborted: {type(exc).__name__}: {exc}"],
            )
            if isinstance(exc, ShipwrightError):
                exc.exit_code = ExitCode.BROKEN
            raise
        code = exit_code_for(outcome)
        seconds = time.monotonic() - started
        entry = ledger.record(
            action,
            release,
            RESULT_FOR[code],
            phases=outcome.phases,
            metrics={"seconds": round(seconds, 3), "hosts": len(outcome.units)},
            reason=reason,
            hosts=outcome.units,
            notes=[outcome.message] if outcome.message else [],
            previous=previous,
        )
        notes: list[str] = []
        if outcome.ok and prune and hasattr(target, "prune"):
            try:
                keep = getattr(getattr(target, "config", None), "keep_images", 3)
                target.prune(ledger.needed_images(keep))
            except ShipwrightError as exc:
                notes.append(f"images not pruned: {exc}")
    return Report(action, outcome, entry, code, time.monotonic() - started, notes)
