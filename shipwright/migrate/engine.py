"""``up`` and ``down``: plan from the files and the changelog, refuse what may not run
(edited files, phases, contracts), then -- under the lock -- back up, run the app's
runner, and record every run. A failing ``up`` is undone by its ``down`` (or, failing
that, its backup) and the message says which.

Everything that changes something goes through the Runner (and ``Target.run``), so
``--dry-run`` prints the whole plan -- lock, backups, runs, changelog writes -- and writes
nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from shipwright.domain import Release
from shipwright.errors import ConfigError, ShipwrightError
from shipwright.migrate import backup, rules
from shipwright.migrate.changelog import APPLIED, FAILED, INTERRUPTED, Changelog, utcnow
from shipwright.migrate.discovery import Migration, discover, find
from shipwright.migrate.executor import Executor, execute
from shipwright.migrate.lock import MigrationLock
from shipwright.migrate.state import MigrationState
from shipwright.output import say, status, table
from shipwright.runner import Runner
from shipwright.settings import Settings


@dataclass
class Session:
    """What one migrate command works with."""

    settings: Settings
    runner: Runner
    db: Any
    executor: Executor
    release: str = ""  # the version whose image (or checkout) runs the migrations
    #: The environment's ledger and what serves, for the contract rules (opened lazily).
    ledger: Callable[[], tuple[Any, Release | None]] | None = None
    changelog: Changelog = field(init=False)
    lock: MigrationLock = field(init=False)

    def __post_init__(self) -> None:
        s = self.settings
        self.changelog = Changelog(self.db, s["MIGRATE_CHANGELOG"], self.runner, s.environment)
        self.lock = MigrationLock(
            self.db,
            s["MIGRATE_LOCK_COLLECTION"],
            self.runner,
            seconds=s.number("MIGRATE_LOCK_SECONDS"),
        )

    def state(self) -> MigrationState:
        folder = self.settings.root / self.settings["MIGRATIONS_DIR"]
        found = MigrationState(discover(folder), self.changelog.applied())
        for name in found.missing():
            say(f"⚠ the changelog lists {name} as applied, but its file is gone")
        return found


@dataclass
class LockOptions:
    reason: str = ""
    wait: float = 0.0
    break_lock: bool = False


# -- planning ----------------------------------------------------------------------------
def plan_up(state: MigrationState, to: str | None = None) -> tuple[list[Migration], str]:
    """The pending migrations ``up`` runs, in order, up to ``to``; it stops before a
    backfill (that runs with migrate.backfill). Returns (plan, why it stopped early)."""
    pending = state.pending()
    if to is not None:
        wanted = find(state.migrations, to)
        if wanted not in pending:
            raise ConfigError(f"{wanted.name} is already applied: nothing to run up to it")
        pending = pending[: pending.index(wanted) + 1]
    plan: list[Migration] = []
    for migration in pending:
        if migration.phase == "backfill":
            if to is not None and pending[-1] is not migration:
                raise ConfigError(
                    f"{pending[-1].name} comes after the backfill {migration.name}: run invoke "
                    "migrate.backfill first (it runs in batches), then migrate.up"
                )
            return plan, f"next: the backfill {migration.name} (invoke migrate.backfill)"
        plan.append(migration)
    return plan, ""


def contract_refusals(session: Session, plan: list[Migration]) -> list[str]:
    contracts = [m for m in plan if m.phase == "contract"]
    if not contracts:
        return []
    if session.ledger is None:
        return [f"{m.name}: no ledger to check its release against" for m in contracts]
    ledger, serving = session.ledger()
    hours = session.settings.number("CONTRACT_SOAK_HOURS")
    found = [
        rules.contract_refusal(m.name, m.release, ledger, serving, hours=hours) for m in contracts
    ]
    return [why for why in found if why]


def show_plan(session: Session, steps: list[tuple[Migration, str]], title: str) -> None:
    rows = [
        (str(i), m.name, m.phase, direction, session.executor.where)
        for i, (m, direction) in enumerate(steps, 1)
    ]
    table(title, ("#", "Migration", "Phase", "Direction", "Runs in"), rows)


def _title(session: Session, action: str) -> str:
    dry = " (dry run: nothing is written)" if session.runner.dry_run else ""
    return f"migrate {action} in {session.settings.environment}{dry}"


# -- running -----------------------------------------------------------------------------
def up(
    session: Session,
    *,
    to: str | None = None,
    rehearse: bool = False,
    lock: LockOptions | None = None,
    only: tuple[str, ...] = (),
) -> list[Migration]:
    """Apply the pending migrations (``only``: these phases, else refuse). Returns them."""
    lock = lock or LockOptions()
    state = session.state()
    state.require_unedited()
    plan, stopped = plan_up(state, to)
    if only:
        blocked = [m for m in plan if m.phase not in only]
        if blocked:
            first = blocked[0]
            raise ShipwrightError(
                f"pending {first.phase} migration {first.name} must run first (invoke "
                f"migrate.{'backfill' if first.phase == 'backfill' else 'up'}); nothing changed"
            )
    refused = contract_refusals(session, plan)
    if refused:
        raise ShipwrightError("contract refused; nothing changed: " + "; ".join(refused))
    steps = [
        (m, d)
        for m in plan
        for d in (("up", "down", "up") if rehearse and m.reversible else ("up",))
    ]
    if not steps:
        status(
            True,
            f"{session.settings.environment}: no pending migration to run up"
            + (f" ({stopped})" if stopped else ""),
        )
        return []
    show_plan(session, steps, _title(session, "up"))
    with locked(session, lock, f"migrate up: {', '.join(m.name for m in plan)}"):
        again, _ = plan_up(session.state(), to)
        if [m.name for m in again] != [m.name for m in plan]:
            raise ShipwrightError(
                "another run changed the migrations meanwhile; nothing ran: run again"
            )
        for migration, direction in steps:
            _step(session, migration, direction, rehearse=rehearse)
    if stopped:
        say(f"– {stopped}")
    return plan


def down(
    session: Session,
    *,
    to: str | None = None,
    steps: int | None = None,
    lock: LockOptions | None = None,
) -> list[Migration]:
    """Revert the newest applied migrations: ``steps`` of them (default 1), or all after ``to``."""
    lock = lock or LockOptions()
    state = session.state()
    state.require_unedited()
    applied = state.applied_newest_first()
    if to is not None:
        names = [r.name for r in applied]
        wanted = to.removesuffix(".js")
        if wanted not in names:
            raise ConfigError(f"{to} is not applied (applied: {', '.join(names) or 'none'})")
        rows = applied[: names.index(wanted)]
    else:
        rows = applied[: steps if steps is not None else 1]
    for row in rows:
        if row.migration is None:
            raise ConfigError(f"{row.name} is applied but its file is gone: its down cannot run")
        if not row.migration.reversible:
            raise ConfigError(
                f"{row.name} is irreversible (no down): restore its backup instead "
                "(invoke migrate.restore --backup ID; IDs are in the changelog)"
            )
    plan = [r.migration for r in rows if r.migration]
    if not plan:
        status(True, f"{session.settings.environment}: nothing to revert")
        return []
    show_plan(
        session, [(m, "down") for m in plan], f"migrate down in {session.settings.environment}"
    )
    with locked(session, lock, f"migrate down: {', '.join(m.name for m in plan)}"):
        for migration in plan:
            _step(session, migration, "down")
    return plan


def locked(session: Session, lock: LockOptions, reason: str):
    if lock.break_lock:
        session.lock.break_lock(session.changelog, lock.reason or "--break-lock")
    return session.lock.held(lock.reason or reason, wait=lock.wait)


def _step(
    session: Session, migration: Migration, direction: str, *, rehearse: bool = False
) -> None:
    """One run: backup, the app's runner, the changelog; a failed ``up`` is undone."""
    if session.lock.lost.is_set():
        raise ShipwrightError(
            f"the migrations lock was broken by someone else; stopped before {migration.name}"
        )
    taken = None
    if backup.wanted(session.settings):
        taken = backup.take(
            session.settings, session.runner, session.db, migration.collections, migration.name
        )
    started, began = utcnow(), time.monotonic()
    record = _recorder(session, migration, direction, started, began, taken, rehearse)
    try:
        outcome = execute(session.executor, migration, direction)
    except BaseException as exc:  # Ctrl-C or a lost connection: record, keep the error
        record(INTERRUPTED, f"{type(exc).__name__}: {exc}")
        say(
            f"✘ {migration.name} {direction} was interrupted: check the data, then "
            "migrate.down or restore" + (f" backup {taken.id}" if taken else "")
        )
        raise
    if outcome.ok:
        record(APPLIED, "")
        if session.runner.dry_run:
            return
        status(
            True,
            f"{migration.name} {direction} ({migration.phase}) in {time.monotonic() - began:.1f}s",
        )
        return
    record(FAILED, outcome.detail)
    if direction != "up":
        undo = (
            f"restore backup {taken.id} (invoke migrate.restore --backup {taken.id})"
            if taken
            else "nothing to restore"
        )
        raise ShipwrightError(f"{migration.name} down failed: {outcome.detail}\n→ {undo}")
    undone = _undo_failed_up(session, migration, taken)
    raise ShipwrightError(f"{migration.name} up failed: {outcome.detail}\n→ {undone}")


def _recorder(session, migration, direction, started, began, taken, rehearse):
    def record(result: str, error: str) -> None:
        try:
            session.changelog.record_run(
                migration.name,
                checksum=migration.checksum,
                direction=direction,
                phase=migration.phase,
                result=result,
                started=started,
                duration=time.monotonic() - began,
                release=session.release,
                requires=migration.release,
                backup=taken.to_dict() if taken else None,
                error=error,
                rehearsal=rehearse,
            )
        except Exception as exc:
            if result != APPLIED:
                say(f"✘ nor could its changelog entry be written: {type(exc).__name__}")
                return
            raise ShipwrightError(
                f"{migration.name} {direction} ran on {session.executor.where}, but its "
                f"changelog entry could not be written ({type(exc).__name__}: {str(exc)[:200]}): "
                "the changelog does not know it ran -- check the data before migrating again"
            ) from None

    return record


def _undo_failed_up(session: Session, migration: Migration, taken) -> str:
    """Its down when it has one (recorded), else (or when that fails) its backup."""
    if migration.reversible:
        began, started = time.monotonic(), utcnow()
        outcome = execute(session.executor, migration, "down")
        record = _recorder(session, migration, "down", started, began, taken, False)
        record(APPLIED if outcome.ok else FAILED, "" if outcome.ok else outcome.detail)
        if outcome.ok:
            return f"its down ran: {migration.name} is not applied"
        say(f"✘ {migration.name} down failed too: {outcome.detail}")
    if taken is not None:
        backup.restore(session.settings, session.runner, session.db, taken)
        return f"its backup {taken.id} was restored"
    return "no down and no backup: the data may be half-migrated; a human is needed"
