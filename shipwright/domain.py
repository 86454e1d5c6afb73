"""The values every layer trades in: a release, a plan, checks, how a move ended, a one-off
run, and what a target says serves now.

Why a module of its own (not under ``targets/``): the flow, the ledger, the lock, the
gates, the checks and the notices all speak of releases and checks; none of them needs
to know a target exists. Nothing here imports anything of shipwright's but the errors.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from shipwright.errors import ExitCode


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def who() -> str:
    """Who deploys: the CI actor when there is one, else the local user."""
    return os.environ.get("GITHUB_ACTOR") or os.environ.get("USER") or getpass.getuser()


@dataclass(frozen=True)
class Release:
    """One version of the app bound for one environment."""

    environment: str
    version: str  # the image tag, e.g. develop-1a2b3c4
    image: str  # repository:tag@sha256:digest (digest when known)
    git_sha: str = ""
    who: str = field(default_factory=who)
    when: str = field(default_factory=now_iso)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Release:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


@dataclass
class Plan:
    """What a deploy or rollback would do: commands and API calls, in order."""

    target: str
    release: Release | None
    steps: list[str] = field(default_factory=list)


@dataclass
class Check:
    name: str
    ok: bool
    detail: str = ""


@dataclass
class Checks:
    items: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(item.ok for item in self.items)

    def __iter__(self) -> Iterator[Check]:
        return iter(self.items)


@dataclass
class Outcome:
    """How a deploy or rollback ended, per unit (host, task set, pod …).

    A target returns an Outcome for every failure it handled, Ctrl-C included (after
    undoing what it could); ``units`` say where each unit ended, beginning with
    ``unchanged``, ``switched``, ``restored`` or ``broken``."""

    ok: bool
    release: Release | None
    message: str = ""
    phases: dict[str, float] = field(default_factory=dict)  # phase -> seconds
    units: dict[str, str] = field(default_factory=dict)  # unit -> where it ended
    restored: bool = False  # failed, and the previous release serves again

    @classmethod
    def of_service(
        cls, release: Release | None, service: str, state: str, detail: str, phases: dict
    ) -> Outcome:
        """One managed service (ECS, App Runner, Express) that ended ``succeeded``,
        ``restored`` (the platform rolled back) or anything else (``broken``)."""
        where = {"succeeded": "switched", "restored": "restored"}.get(state, "broken")
        return cls(
            ok=state == "succeeded",
            release=release,
            message=detail,
            phases=phases,
            units={service: f"{where}: {detail}"},
            restored=state == "restored",
        )


@dataclass
class Run:
    """A one-off command in a release's image on the target: its real exit code and
    output (the app container's, never a sidecar's or the platform's)."""

    command: Sequence[str]
    exit_code: int
    output: str = ""
    where: str = ""  # host, task ARN, Job name …

    @property
    def ok(self) -> bool:
        return self.exit_code == 0


@dataclass
class Status:
    """What a target says serves now: one table for people, the raw data for --json."""

    serving: Release | None
    columns: tuple[str, ...] = ()
    rows: list[tuple[str, ...]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # recent events, warnings
    data: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "serving": self.serving.to_dict() if self.serving else None,
            "units": [dict(zip(self.columns, row, strict=False)) for row in self.rows],
            "notes": list(self.notes),
            "details": self.data,
        }


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


#: The ledger result (shipwright.ledger.RESULTS) for each exit code of a deploy or
#: rollback. A deploy the flow itself reverted after verify or watch failed is recorded
#: as "rolled_back" instead (see shipwright.flow.release).
RESULT_FOR = {
    ExitCode.OK: "succeeded",
    ExitCode.FAILED: "failed",
    ExitCode.RESTORED: "restored",
    ExitCode.BROKEN: "broken",
}
