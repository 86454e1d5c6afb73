"""Migrations in the deploy flow (``shipwright.flow.hooks``), when MIGRATE_ON_DEPLOY=true:

- deploy: the pending expand migrations run after the gates and the lock, before any
  traffic moves, as one-off tasks in the new release's image on the target. A failing
  one has been undone (its down, else its backup) when the deploy stops with exit 1.
  An expand queued behind a pending backfill or contract refuses the deploy.
- rollback: a release that predates an applied contract migration is refused (its code
  needs the old schema) unless --force, which the ledger records.
- production preflight: the gate "database migrations tested" (:mod:`.gate`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from shipwright.domain import Check, Release
from shipwright.errors import ConfigError, ShipwrightError
from shipwright.migrate import connection, rules
from shipwright.migrate.discovery import Migration
from shipwright.migrate.engine import LockOptions, Session, up
from shipwright.migrate.executor import TargetExecutor
from shipwright.settings import Settings


def hook_for(settings: Settings) -> MigrationHook | None:
    return MigrationHook() if settings.get("MIGRATE_ON_DEPLOY") == "true" else None


class MigrationHook:
    name = "database migrations"

    def gates(self, dep: Any, release: Release) -> list[Check]:
        from shipwright.migrate.gate import tested_on_staging

        if dep.settings.environment != "production":
            return []
        return [tested_on_staging(dep.settings, dep.runner)]

    def plan(self, dep: Any, release: Release, action: str, force: bool) -> list[str]:
        with _session(dep, release) as session:
            if action == "rollback":
                note = self._rollback_check(session, dep, release, force)
                return [note] if note else []
            todo = expands_to_run(session)
        where = f"in {release.version}'s image on {dep.target.name} before traffic moves"
        return [f"run migration {m.name} up ({m.phase}) {where}" for m in todo]

    def before_move(self, dep: Any, release: Release, action: str, force: bool) -> list[str]:
        with _session(dep, release) as session:
            if action == "rollback":
                note = self._rollback_check(session, dep, release, force)
                return [note] if note else []
            todo = expands_to_run(session)
            if not todo:
                return []
            lock = LockOptions(reason=f"deploy {release.version}")
            done = up(session, to=todo[-1].name, only=("expand",), lock=lock)
        return [f"migrations applied before the move: {', '.join(m.name for m in done)}"]

    @staticmethod
    def _rollback_check(session: Session, dep: Any, release: Release, force: bool) -> str:
        contracts = {
            a.name: a.requires
            for a in session.changelog.applied().values()
            if a.phase == "contract" and a.requires
        }
        why = rules.rollback_refusal(release.version, contracts, dep.ledger)
        if why is None:
            return ""
        if not force:
            raise ConfigError(f"rollback to {release.version} refused: {why}; nothing changed")
        return f"FORCED (--force): {why}"


def expands_to_run(session: Session) -> list[Migration]:
    """The pending expand migrations a deploy runs: those at the head of the pending list.
    An expand queued behind a pending backfill or contract refuses the deploy."""
    state = session.state()
    state.require_unedited()
    pending = state.pending()
    head: list[Migration] = []
    for migration in pending:
        if migration.phase != "expand":
            break
        head.append(migration)
    blocked = [m for m in pending[len(head) :] if m.phase == "expand"]
    if blocked:
        waits = pending[len(head)]
        raise ShipwrightError(
            f"expand migration {blocked[0].name} waits behind the pending {waits.phase} "
            f"{waits.name}: run invoke migrate.{'backfill' if waits.phase == 'backfill' else 'up'} "
            f"--env {session.settings.environment} first; nothing moved"
        )
    return head


@contextlib.contextmanager
def _session(dep: Any, release: Release) -> Iterator[Session]:
    with connection.database(dep.settings) as db:
        executor = TargetExecutor(dep.settings, dep.target, release)
        yield Session(
            dep.settings,
            dep.runner,
            db,
            executor,
            release=release.version,
            ledger=lambda: (dep.ledger, dep.target.current()),
        )
