"""The ledger: every deploy, rollback and lock break of an environment, append-only.

Why: "last good release" must come from what really happened, not from revision
arithmetic -- a version that was rolled back away from is not good any more, even
though its deploy once succeeded. The ledger also decides which images a host must
keep. Targets store it where they like (:class:`LedgerStore`); everything written
passes through the redaction layer first.
"""

from __future__ import annotations

import json
import secrets
import threading
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from shipwright.domain import Release, now_iso, who
from shipwright.errors import ConfigError
from shipwright.lock import LockInfo
from shipwright.redact import redact_obj

ACTIONS = ("deploy", "rollback", "break-lock")
#: succeeded: done. failed: nothing changed. restored: traffic had moved, and the
#: previous release serves again. rolled_back: completed, then reverted by a gate.
#: broken: failed and not restored (a human is needed).
RESULTS = ("succeeded", "failed", "rolled_back", "restored", "broken")
SERVING_ACTIONS = ("deploy", "rollback")


def new_id() -> str:
    """Sortable and unique enough: UTC time to the millisecond plus 4 random hex."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")[:-3]
    return f"{stamp}-{secrets.token_hex(2)}"


@dataclass
class Entry:
    action: str
    result: str
    release: dict[str, Any] | None
    id: str = field(default_factory=new_id)
    phases: dict[str, float] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    who: str = field(default_factory=who)
    when: str = field(default_factory=now_iso)
    reason: str = ""
    hosts: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    previous: dict[str, Any] | None = None  # what served before this action
    #: The preflight gates as evaluated (name, ok, detail; overrides say OVERRIDDEN);
    #: None when the run was ungated (``--no-gates``) or is not a deploy.
    gates: list[dict[str, Any]] | None = None
    approved_by: str = ""  # who approved, and how (shipwright.approval); "" when not needed

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise ValueError(f"ledger action must be one of {ACTIONS}, not {self.action!r}")
        if self.result not in RESULTS:
            raise ValueError(f"ledger result must be one of {RESULTS}, not {self.result!r}")

    @property
    def good(self) -> bool:
        """A release that ended up serving everywhere."""
        return self.action in SERVING_ACTIONS and self.result == "succeeded" and bool(self.release)

    @property
    def version(self) -> str:
        return (self.release or {}).get("version", "")

    def to_dict(self) -> dict[str, Any]:
        return redact_obj(asdict(self))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Entry:
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        if isinstance(known.get("notes"), str):
            known["notes"] = [known["notes"]]
        return cls(**known)


class LedgerStore(Protocol):
    """Where a target keeps an environment's ledger: load all, append one."""

    def load(self, environment: str) -> list[dict[str, Any]]: ...

    def append(self, environment: str, entry: dict[str, Any]) -> None: ...


class MemoryLedgerStore:
    """In-process: for unit tests."""

    def __init__(self) -> None:
        self.entries: dict[str, list[dict[str, Any]]] = {}
        self._mutex = threading.Lock()

    def load(self, environment: str) -> list[dict[str, Any]]:
        return [dict(e) for e in self.entries.get(environment, [])]

    def append(self, environment: str, entry: dict[str, Any]) -> None:
        with self._mutex:
            self.entries.setdefault(environment, []).append(json.loads(json.dumps(entry)))


class JsonLinesLedgerStore:
    """One JSON line per entry in ``<folder>/<environment>.jsonl`` on this machine."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)

    def load(self, environment: str) -> list[dict[str, Any]]:
        path = self._path(environment)
        return parse_lines(path.read_text("utf-8")) if path.is_file() else []

    def append(self, environment: str, entry: dict[str, Any]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        with self._path(environment).open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(entry, sort_keys=True) + "\n")

    def _path(self, environment: str) -> Path:
        return self.folder / f"{environment}.jsonl"


def parse_lines(text: str) -> list[dict[str, Any]]:
    """JSON lines, skipping a torn last line (a crash mid-append must not lose the rest)."""
    out = []
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(item, dict):
            out.append(item)
    return out


class Ledger:
    """An environment's history, and the questions the deploy flow asks of it."""

    def __init__(self, store: LedgerStore, environment: str):
        self.store, self.environment = store, environment

    # -- writing -------------------------------------------------------------------
    def record(self, action: str, release: Release | None, result: str, **fields: Any) -> Entry:
        """Build an entry (see :meth:`entry`) and write it."""
        return self.write(self.entry(action, release, result, **fields))

    def entry(
        self,
        action: str,
        release: Release | None,
        result: str,
        *,
        phases: dict[str, float] | None = None,
        metrics: dict[str, Any] | None = None,
        reason: str = "",
        hosts: dict[str, str] | None = None,
        notes: list[str] | None = None,
        previous: Release | None = None,
        gates: list[dict[str, Any]] | None = None,
        approved_by: str = "",
    ) -> Entry:
        """An entry not written yet: the flow fills in the last phases, then writes it."""
        return Entry(
            action=action,
            result=result,
            release=release.to_dict() if release else None,
            phases=dict(phases or {}),
            metrics=dict(metrics or {}),
            reason=reason,
            hosts=dict(hosts or {}),
            notes=list(notes or []),
            previous=previous.to_dict() if previous else None,
            gates=[dict(g) for g in gates] if gates is not None else None,
            approved_by=approved_by,
        )

    def write(self, entry: Entry) -> Entry:
        """Append ``entry`` (redacted, phases rounded to the millisecond); returns what
        was written."""
        entry.phases = {k: round(v, 3) for k, v in entry.phases.items()}
        data = entry.to_dict()  # redacted
        self.store.append(self.environment, data)
        return Entry.from_dict(data)

    def record_lock_break(self, broken: LockInfo | None, reason: str = "") -> Entry:
        note = f"broke the lock held by {broken.describe()}" if broken else "no lock was held"
        return self.record("break-lock", None, "succeeded", reason=reason, notes=[note])

    # -- reading -------------------------------------------------------------------
    def entries(self) -> list[Entry]:
        """Oldest first (the order they were appended); invalid lines are skipped."""
        out = []
        for data in self.store.load(self.environment):
            try:
                out.append(Entry.from_dict(data))
            except (TypeError, ValueError):
                continue
        return out

    def history(self, limit: int | None = 20) -> list[Entry]:
        """Newest first."""
        newest = list(reversed(self.entries()))
        return newest if limit is None else newest[:limit]

    def last_good(self, exclude_version: str | None = None) -> Release | None:
        """The newest release that served everywhere and was not rolled back away from
        afterwards; ``exclude_version`` (usually what serves now) is skipped."""
        abandoned: set[str] = set()
        for entry in self.history(limit=None):
            if entry.action == "rollback" and entry.previous:
                abandoned.add(entry.previous.get("version", ""))
            if entry.action == "deploy" and entry.result in ("rolled_back", "restored", "broken"):
                abandoned.add(entry.version)
            if not entry.good or entry.version in abandoned or entry.version == exclude_version:
                continue
            return Release.from_dict(entry.release or {})
        return None

    def rollback_release(self, version: str | None, serving: Release | None) -> Release:
        """Where a rollback goes: the named ``version`` as the ledger recorded it, else
        the last good release other than ``serving`` (what serves now). ConfigError
        (bad input, nothing ran) when there is no such release."""
        if version:
            for entry in self.history(limit=None):
                if entry.release and entry.version == version and entry.release.get("image"):
                    return Release.from_dict(entry.release)
            raise ConfigError(f"version {version!r} is not in the ledger of {self.environment!r}")
        good = self.last_good(exclude_version=serving.version if serving else None)
        if good is None:
            raise ConfigError(
                f"the ledger of {self.environment!r} has no earlier good release to roll back to"
            )
        return good

    def needed_images(self, keep: int = 3, pending: Entry | None = None) -> list[str]:
        """Images a host must not prune: the last ``keep`` good releases, and both sides
        of the newest entry (after a broken deploy a host may serve either); ``pending``
        is an entry about to be written, counted as the newest."""
        newest = [pending] if pending is not None else []
        history = [e for e in newest + self.history(limit=None) if e.action in SERVING_ACTIONS]
        good: list[str] = []
        for entry in history:
            image = (entry.release or {}).get("image")
            if entry.good and image and image not in good:
                good.append(image)
        needed = good[:keep]
        if history:
            for side in (history[0].release, history[0].previous):
                image = (side or {}).get("image")
                if image and image not in needed:
                    needed.append(image)
        return needed
