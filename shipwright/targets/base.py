"""The target interface every deploy target implements, and the values it trades in.

The deploy flow is written once against :class:`Target`; targets never call each other.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

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
    """How a deploy or rollback ended, per unit (host, task set, pod …)."""

    ok: bool
    release: Release | None
    message: str = ""
    phases: dict[str, float] = field(default_factory=dict)  # phase -> seconds
    units: dict[str, str] = field(default_factory=dict)  # host -> where it ended
    restored: bool = False  # failed, and the previous release serves again


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


class Target(Protocol):
    name: str

    def plan(self, release: Release) -> Plan: ...
    def deploy(self, release: Release) -> Outcome: ...
    def verify(self, release: Release) -> Checks: ...
    def rollback(self, to: Release) -> Outcome: ...
    def current(self) -> Release | None: ...
    def status(self) -> dict[str, Any]: ...
    def logs(self, follow: bool = False, since: str | None = None) -> None: ...
