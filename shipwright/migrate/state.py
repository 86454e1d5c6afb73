"""Files against the changelog: what is applied, pending, edited since it was applied, or
applied but its file is gone.

Why refuse edited migrations: the changelog says what ran; a file changed afterwards
would make ``down`` undo something that never ran, and re-running it (as some tools do)
applies a change twice. The refusal names the file and both checksums.
"""

from __future__ import annotations

from dataclasses import dataclass

from shipwright.errors import ConfigError
from shipwright.migrate.changelog import Applied
from shipwright.migrate.discovery import Migration


@dataclass(frozen=True)
class Row:
    name: str
    phase: str
    state: str  # pending | applied | edited | missing file
    migration: Migration | None
    applied: Applied | None

    def to_dict(self) -> dict[str, object]:
        a = self.applied
        return {
            "name": self.name,
            "phase": self.phase,
            "state": self.state,
            "checksum": self.migration.checksum if self.migration else None,
            "applied_checksum": a.checksum if a else None,
            "applied_at": a.at.isoformat(timespec="seconds") if a else None,
            "by": a.who if a else None,
            "release": a.release if a else None,
            "duration": a.duration if a else None,
        }


@dataclass
class MigrationState:
    migrations: list[Migration]
    applied: dict[str, Applied]

    def rows(self) -> list[Row]:
        """Every known migration in file order, then changelog names with no file."""
        rows = []
        for m in self.migrations:
            done = self.applied.get(m.name)
            state = "pending" if done is None else "applied"
            if done is not None and done.checksum != m.checksum:
                state = "edited"
            rows.append(Row(m.name, m.phase, state, m, done))
        names = {m.name for m in self.migrations}
        rows += [
            Row(name, a.phase, "missing file", None, a)
            for name, a in sorted(self.applied.items())
            if name not in names
        ]
        return rows

    def pending(self) -> list[Migration]:
        return [m for m in self.migrations if m.name not in self.applied]

    def applied_newest_first(self) -> list[Row]:
        """Applied rows, newest first in file order; those whose file is gone come last."""
        rows = [r for r in self.rows() if r.applied is not None]
        return [r for r in reversed(rows) if r.migration] + [r for r in rows if not r.migration]

    def missing(self) -> list[str]:
        return [r.name for r in self.rows() if r.state == "missing file"]

    def require_unedited(self) -> None:
        """ConfigError naming every edited file and both checksums (nothing ran)."""
        edited = [r for r in self.rows() if r.state == "edited"]
        if edited:
            lines = [
                f"  ✘ {r.migration.path}: applied as {r.applied.checksum[:16]}…, "
                f"the file is now {r.migration.checksum[:16]}…"
                for r in edited
                if r.migration and r.applied
            ]
            raise ConfigError(
                "migrations were edited after they were applied (restore the files, or write "
                "a new migration for the change); nothing ran:\n" + "\n".join(lines)
            )
