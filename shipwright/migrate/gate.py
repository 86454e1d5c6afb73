"""The preflight gate "database migrations tested": a production deploy passes only when
every migration pending in production ran on staging -- up, and down too for reversible
ones -- with the same checksum (``invoke migrate.up --env staging --rehearse`` runs up,
down, up). Staging's changelog is read with staging's MONGO_URI; when it cannot be read
here the gate fails and says why.
"""

from __future__ import annotations

from shipwright.domain import Check
from shipwright.errors import ShipwrightError
from shipwright.migrate import connection
from shipwright.migrate.changelog import APPLIED, Changelog
from shipwright.migrate.discovery import Migration, discover
from shipwright.migrate.state import MigrationState
from shipwright.runner import Runner
from shipwright.settings import Settings, load_settings

NAME = "database migrations tested"


def untested(pending: list[Migration], staging_runs: list[dict]) -> list[str]:
    """What each pending migration still lacks on staging ("" when nothing)."""
    ran = {
        (r.get("name"), r.get("checksum"), r.get("direction"))
        for r in staging_runs
        if r.get("result") == APPLIED
    }
    lacking = []
    for m in pending:
        wanted = ("up", "down") if m.reversible else ("up",)
        missing = [d for d in wanted if (m.name, m.checksum, d) not in ran]
        if missing:
            lacking.append(f"{m.name} never ran {' or '.join(missing)} on staging")
    return lacking


def tested_on_staging(settings: Settings, runner: Runner) -> Check:
    folder = settings.root / settings["MIGRATIONS_DIR"]
    quiet = Runner(dry_run=True, echo=False)  # reading only
    try:
        with connection.database(settings) as db:
            log = Changelog(db, settings["MIGRATE_CHANGELOG"], quiet, settings.environment)
            pending = MigrationState(discover(folder), log.applied()).pending()
        if not pending:
            return Check(NAME, True, f"no migration pending in {settings.environment}")
        staging = load_settings("staging", validate=False)
        with connection.database(staging) as db:
            runs = Changelog(db, staging["MIGRATE_CHANGELOG"], quiet, "staging").runs()
    except ShipwrightError as exc:
        return Check(NAME, False, f"cannot tell: {str(exc).splitlines()[0]}")
    lacking = untested(pending, runs)
    if lacking:
        hint = "invoke migrate.up --env staging --rehearse"
        return Check(NAME, False, "; ".join(lacking) + f" ({hint})")
    return Check(NAME, True, f"{len(pending)} pending migration(s) ran up and down on staging")
