"""What the migrate.* tasks do, without Invoke: open the database (and, when needed, the
environment's target and ledger), run the engine, render the result.

Where migrations run: ``--local`` on this machine (the app folder's node_modules), else
as one-off tasks in a release's image on the environment's target -- ``--version`` or
``--image``, by default the release that serves now.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from shipwright.errors import ConfigError, ShipwrightError
from shipwright.migrate import backup, connection
from shipwright.migrate.changelog import RESTORE, Changelog
from shipwright.migrate.discovery import FILE_NAME, PHASES, discover
from shipwright.migrate.engine import LockOptions, Session
from shipwright.migrate.executor import LocalExecutor, TargetExecutor
from shipwright.migrate.lock import MigrationLock, describe
from shipwright.migrate.state import MigrationState
from shipwright.output import emit_json, say, status, table
from shipwright.runner import Runner
from shipwright.settings import Settings

STATUS_COLUMNS = ("Migration", "Phase", "State", "Checksum", "Applied at", "By", "Release", "Took")


class _Environment:
    """The environment's Deployment (target, ledger), opened on first use only: a local
    run that needs no ledger never connects to the hosts."""

    def __init__(self, settings: Settings, runner: Runner):
        self.settings, self.runner = settings, runner
        self._stack = contextlib.ExitStack()
        self._dep = None

    def deployment(self):
        if self._dep is None:
            from shipwright.flow.session import opened

            self._dep = self._stack.enter_context(opened(self.settings, self.runner, staging=False))
        return self._dep

    def ledger(self):
        dep = self.deployment()
        return dep.ledger, dep.target.current()

    def close(self) -> None:
        self._stack.close()


@contextlib.contextmanager
def session(
    settings: Settings,
    runner: Runner,
    *,
    local: bool = False,
    version: str | None = None,
    image: str | None = None,
) -> Iterator[Session]:
    with connection.database(settings) as db:
        env = _Environment(settings, runner)
        try:
            if local:
                from shipwright.stages.node import ensure_dependencies

                ensure_dependencies(runner)
                executor, release = LocalExecutor(settings, runner), "checkout"
            else:
                from shipwright.flow.release import release_for

                with _hint_local():
                    dep = env.deployment()
                    chosen = (
                        release_for(settings, runner, version, image)
                        if version or image
                        else dep.target.current()
                    )
                if chosen is None:
                    raise ConfigError(
                        f"nothing serves in {settings.environment!r}: name the image that runs "
                        "the migrations (--version / --image) or run them here with --local"
                    )
                executor, release = TargetExecutor(settings, dep.target, chosen), chosen.version
            yield Session(settings, runner, db, executor, release=release, ledger=env.ledger)
        finally:
            env.close()


@contextlib.contextmanager
def _hint_local() -> Iterator[None]:
    """Without a reachable target (no hosts configured, none answering) the migrations
    can still run on this machine: say so beside the reason."""
    try:
        yield
    except ShipwrightError as exc:
        raise ShipwrightError(
            f"{exc}\n  (to run the migrations on this machine instead: --local)", exc.exit_code
        ) from None


def lock_options(reason: str, lock_wait: float, break_lock: bool) -> LockOptions:
    return LockOptions(reason=reason, wait=lock_wait, break_lock=break_lock)


def status_of(settings: Settings, runner: Runner, *, as_json: bool = False) -> MigrationState:
    """The table of every migration (or JSON), and who holds the lock."""
    folder = settings.root / settings["MIGRATIONS_DIR"]
    with connection.database(settings) as db:
        log = Changelog(db, settings["MIGRATE_CHANGELOG"], runner, settings.environment)
        state = MigrationState(discover(folder), log.applied())
        held = MigrationLock(db, settings["MIGRATE_LOCK_COLLECTION"], runner, seconds=60).holder()
    rows = state.rows()
    if as_json:
        emit_json(
            {
                "environment": settings.environment,
                "lock": describe(held) if held else None,
                "migrations": [r.to_dict() for r in rows],
            }
        )
        return state
    table(
        f"{settings.environment}: migrations in {settings['MIGRATIONS_DIR']}",
        STATUS_COLUMNS,
        [_status_row(r) for r in rows],
    )
    if held:
        say(f"locked: {describe(held)}")
    return state


def _status_row(row) -> tuple[str, ...]:
    a, m = row.applied, row.migration
    checksum = {
        "pending": "–",
        "applied": "matches",
        "edited": f"EDITED: {a.checksum[:8]} -> {m.checksum[:8]}" if a and m else "edited",
        "missing file": "file gone",
    }[row.state]
    return (
        row.name,
        row.phase,
        row.state,
        checksum,
        a.at.isoformat(timespec="seconds") if a else "-",
        a.who if a else "-",
        (a.release or "-") if a else "-",
        f"{a.duration:.1f}s" if a else "-",
    )


def create(
    settings: Settings,
    runner: Runner,
    name: str,
    *,
    phase: str = "expand",
    collections: str = "",
    release: str = "",
):
    """A new migration file with the next prefix (printed, not written, under --dry-run)."""
    folder = settings.root / settings["MIGRATIONS_DIR"]
    existing = discover(folder)
    prefix = max((m.prefix for m in existing), default=0) + 1
    file_name = f"{prefix:04d}-{name}.js"
    problems = []
    if not FILE_NAME.fullmatch(file_name):
        problems.append(f"name {name!r}: use lower-case letters, digits and dashes")
    if phase not in PHASES:
        problems.append(f"--phase {phase!r}: one of {', '.join(PHASES)}")
    if not [c for c in collections.split(",") if c.strip()]:
        problems.append("--collections: name the collections it changes (for backups)")
    if phase == "contract" and not release:
        problems.append(
            "--release: a contract names the release that no longer needs the old shape"
        )
    if problems:
        raise ConfigError("migrate.create: " + "; ".join(problems))
    text = template(phase, collections, release)
    path = folder / file_name
    runner.api(f"write {path.relative_to(settings.root)}", _write_new, path, text)
    return path


def template(phase: str, collections: str, release: str = "") -> str:
    tags = [f"// @phase {phase}", f"// @collections {collections}"]
    if release:
        tags.append(f"// @release {release}")
    return "\n".join(tags) + (
        "\n//\n// What this changes, and why (one paragraph).\n'use strict';\n\n"
        "async function up(db) {\n  // await db.collection('users').updateMany(...);\n}\n\n"
        "async function down(db) {\n  // undo exactly what up did\n}\n\n"
        "module.exports = { up, down };\n"
    )


def _write_new(path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("x", encoding="utf-8") as handle:
        handle.write(text)
    status(True, f"created {path}")


def restore(
    settings: Settings, runner: Runner, backup_id: str, *, yes: bool = False, lock: Any = None
) -> backup.Backup:
    """Put a backup back, under the migrations lock; production needs ``yes``."""
    made = backup.load(settings, backup_id)
    if settings.environment == "production" and not yes:
        raise ConfigError(
            f"restoring {made.id} replaces {', '.join(made.collections)} in production: "
            "confirm with --yes"
        )
    with connection.database(settings) as db:
        log = Changelog(db, settings["MIGRATE_CHANGELOG"], runner, settings.environment)
        guard = MigrationLock(
            db,
            settings["MIGRATE_LOCK_COLLECTION"],
            runner,
            seconds=settings.number("MIGRATE_LOCK_SECONDS"),
        )
        options = lock or LockOptions()
        if options.break_lock:
            guard.break_lock(log, options.reason or "--break-lock")
        with guard.held(options.reason or f"restore {made.id}", wait=options.wait):
            backup.restore(settings, runner, db, made)
            log.record_event(RESTORE, backup=made.to_dict())
    status(True, f"restored {', '.join(made.collections)} from {made.id}")
    return made
