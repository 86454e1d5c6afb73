"""The background step between expand and contract: a backfill migration runs in
batches (``run-migration.js NAME batch``: the next N matching documents after the last
one handled), each batch recorded in the changelog, so an interrupted backfill resumes
where it stopped. Batches are idempotent: a backfill's filter matches only documents
still to do.
"""

from __future__ import annotations

import time

from shipwright.errors import ShipwrightError
from shipwright.migrate import backup
from shipwright.migrate.changelog import APPLIED, FAILED, utcnow
from shipwright.migrate.discovery import Migration
from shipwright.migrate.engine import LockOptions, Session, locked, show_plan
from shipwright.migrate.executor import execute
from shipwright.output import say, status


def pending_backfills(session: Session) -> list[Migration]:
    """The pending backfills at the head of the pending list; ShipwrightError when another
    phase must run first (nothing changes)."""
    state = session.state()
    state.require_unedited()
    pending = state.pending()
    head = []
    for migration in pending:
        if migration.phase != "backfill":
            break
        head.append(migration)
    if not head and pending:
        first = pending[0]
        raise ShipwrightError(
            f"the next pending migration is {first.name} ({first.phase}): run invoke "
            "migrate.up first; nothing changed"
        )
    return head


def run(session: Session, *, batch: int | None = None, lock: LockOptions | None = None) -> int:
    """Every pending backfill at the head of the list, in batches; documents handled."""
    todo = pending_backfills(session)
    if not todo:
        status(True, f"{session.settings.environment}: no pending backfill")
        return 0
    size = batch or session.settings.integer("MIGRATE_BATCH_SIZE")
    show_plan(session, [(m, f"up, batches of {size}") for m in todo], "migrate backfill")
    total = 0
    with locked(session, lock or LockOptions(), f"backfill {', '.join(m.name for m in todo)}"):
        for migration in todo:
            total += _one(session, migration, size)
    return total


def _one(session: Session, migration: Migration, size: int) -> int:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    log = session.changelog
    saved = log.progress(migration.name)
    if saved and saved.get("checksum") != migration.checksum:
        say(f"– {migration.name} changed since its last batch: starting again from the beginning")
        saved = None
    after, done = (saved.get("after"), int(saved.get("processed", 0))) if saved else (None, 0)
    if saved:
        say(f"→ resuming {migration.name} after {done} document(s)")
    elif backup.wanted(session.settings):
        backup.take(
            session.settings, session.runner, session.db, migration.collections, migration.name
        )
    started, began = utcnow(), time.monotonic()

    def record(result: str, **error: str) -> None:
        log.record_run(
            migration.name,
            checksum=migration.checksum,
            direction="up",
            phase="backfill",
            result=result,
            started=started,
            duration=time.monotonic() - began,
            release=session.release,
            **error,
        )

    columns = (TextColumn(migration.name), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, transient=False, disable=session.runner.dry_run) as bar:
        task = bar.add_task(migration.name, total=None, completed=done)
        while True:
            extra = {"MIGRATE_BATCH_SIZE": str(size), "MIGRATE_AFTER": after or ""}
            outcome = execute(session.executor, migration, "batch", extra)
            if not outcome.ok:
                record(FAILED, error=outcome.detail)
                raise ShipwrightError(
                    f"backfill {migration.name} failed after {done} document(s): {outcome.detail}"
                    "\n→ run invoke migrate.backfill again to resume from there"
                )
            if session.runner.dry_run:
                say(f"would continue in batches of {size} until no document is left")
                return 0
            count = int(outcome.result.get("count", 0))
            if count == 0:
                break
            after = outcome.result.get("last")
            done += count
            log.save_progress(migration.name, migration.checksum, after, done)
            remaining = outcome.result.get("remaining")
            bar.update(
                task, completed=done, total=done + remaining if remaining is not None else None
            )
    record(APPLIED)
    status(
        True, f"backfill {migration.name}: {done} document(s) in {time.monotonic() - began:.1f}s"
    )
    return done
