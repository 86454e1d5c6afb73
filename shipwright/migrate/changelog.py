"""The changelog collection: one document per migration run (name, checksum, direction,
phase, when, how long, who, release, result, backup), plus backfill progress, lock breaks
and restores. What is applied is read from it, never from the files.

Why every run and not only the last state: a failed or interrupted run, a rehearsal on
staging (up then down) and who broke a lock are what a person needs to see later, and the
gate "database migrations tested" reads staging's runs. Every write is redacted and goes
through the Runner, so a dry run plans it and writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from shipwright.domain import who
from shipwright.redact import redact_obj
from shipwright.runner import Runner

RUN, PROGRESS, BREAK_LOCK, RESTORE = "run", "progress", "break-lock", "restore"
APPLIED, FAILED, INTERRUPTED = "applied", "failed", "interrupted"


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Applied:
    """A migration the changelog says is applied: its last successful ``up`` run."""

    name: str
    checksum: str
    phase: str
    at: datetime
    who: str
    release: str
    duration: float
    requires: str = ""  # contract: the release it needs


class Changelog:
    def __init__(self, db: Any, collection: str, runner: Runner, environment: str):
        self.coll = db[collection]
        self.name, self.environment = collection, environment
        self.runner = Runner(dry_run=runner.dry_run, echo=False)

    # -- reading ----------------------------------------------------------------------
    def runs(self) -> list[dict[str, Any]]:
        """Every run, oldest first."""
        return list(self.coll.find({"kind": RUN}).sort([("at", 1), ("_id", 1)]))

    def applied(self) -> dict[str, Applied]:
        """Name -> its applied state, from the successful runs in order (a down removes)."""
        state: dict[str, Applied] = {}
        for run in self.runs():
            if run.get("result") != APPLIED:
                continue
            if run.get("direction") == "down":
                state.pop(run["name"], None)
                continue
            state[run["name"]] = Applied(
                run["name"],
                run.get("checksum", ""),
                run.get("phase", ""),
                run.get("at") or utcnow(),
                run.get("who", ""),
                run.get("release", ""),
                float(run.get("duration", 0.0)),
                run.get("requires", ""),
            )
        return state

    def progress(self, name: str) -> dict[str, Any] | None:
        return self.coll.find_one({"_id": f"{PROGRESS}:{name}"})

    # -- writing ----------------------------------------------------------------------
    def record_run(
        self,
        name: str,
        *,
        checksum: str,
        direction: str,
        phase: str,
        result: str,
        started: datetime,
        duration: float,
        release: str = "",
        requires: str = "",
        backup: dict[str, Any] | None = None,
        error: str = "",
        rehearsal: bool = False,
    ) -> dict[str, Any]:
        doc = redact_obj(
            {
                "kind": RUN,
                "name": name,
                "checksum": checksum,
                "direction": direction,
                "phase": phase,
                "result": result,
                "at": started.isoformat(),
                "duration": round(duration, 3),
                "who": who(),
                "release": release,
                "requires": requires,
                "environment": self.environment,
                "backup": backup,
                "error": error[-2000:],
                "rehearsal": rehearsal,
            }
        )
        doc["at"] = started  # a real date, sortable on the server
        what = f"record {name} {direction} ({result}) in the changelog {self.name}"
        self.runner.api(what, self.coll.insert_one, doc)
        return doc

    def save_progress(self, name: str, checksum: str, after: str | None, processed: int) -> None:
        fields = {
            "kind": PROGRESS,
            "name": name,
            "checksum": checksum,
            "after": after,
            "processed": processed,
            "updated": utcnow(),
        }
        self.runner.api(
            f"record backfill progress of {name} ({processed} documents)",
            self.coll.update_one,
            {"_id": f"{PROGRESS}:{name}"},
            {"$set": fields},
            upsert=True,
        )

    def record_event(self, kind: str, **fields: Any) -> None:
        doc = redact_obj({"kind": kind, "who": who(), "environment": self.environment, **fields})
        doc["at"] = utcnow()
        self.runner.api(f"record {kind} in the changelog {self.name}", self.coll.insert_one, doc)
