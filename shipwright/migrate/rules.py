"""What the phases allow: a contract migration only after the release it names (or a
later one) served healthy for CONTRACT_SOAK_HOURS and no rollback target predates it;
afterwards no rollback to a release that predates an applied contract.

"Predates" is ledger order: the release's first successful deploy (or rollback to it) in
this environment came before the named release's. Versions are image tags
(``develop-1a2b3c4``), which have no order of their own; the ledger does.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shipwright.domain import Release
from shipwright.gates import parse_when, soak_gate
from shipwright.ledger import Ledger

SERVING = ("deploy", "rollback")


def first_served(entries: list[Any], version: str) -> datetime | None:
    """When ``version`` first served in full (entries oldest first)."""
    for entry in entries:
        if entry.action in SERVING and entry.result == "succeeded" and entry.version == version:
            return parse_when(entry.when)
    return None


def predates(entries: list[Any], version: str, than: str) -> bool:
    """``version`` first served before ``than`` did (or ``than`` never served)."""
    mine, theirs = first_served(entries, version), first_served(entries, than)
    if theirs is None:
        return True
    return mine is not None and mine < theirs


def contract_refusal(
    name: str,
    release: str,
    ledger: Ledger,
    serving: Release | None,
    *,
    hours: float,
    now: datetime | None = None,
) -> str | None:
    """Why contract migration ``name`` (needing ``release``) may not run now, or None."""
    entries = ledger.entries()
    named = first_served(entries, release)
    env = ledger.environment
    if named is None:
        return f"{name} needs {release}, which never served in {env!r}"
    if serving is None or predates(entries, serving.version, release):
        what = serving.version if serving else "nothing"
        return f"{name} needs {release} or later serving in {env!r}; {what} serves now"
    later = {e.version for e in entries if (first_served(entries, e.version) or named) >= named}
    soaks = {v: soak_gate(ledger, v, hours=hours, now=now) for v in sorted(later) if v}
    if not any(check.ok for check in soaks.values()):
        # The soak gate speaks of staging; here it reads this environment's ledger.
        why = soaks[serving.version].detail if serving.version in soaks else "no healthy stint"
        why = why.replace(" on staging", f" in {env}")
        return f"{name} waits for {release} or later to serve healthy {hours:g} h ({why})"
    target = ledger.last_good(exclude_version=serving.version)
    if target is not None and predates(entries, target.version, release):
        return (
            f"{name} would break {target.version}, the rollback target (last good release), "
            f"which predates {release}: deploy {release} or later again first"
        )
    return None


def rollback_refusal(version: str, contracts: dict[str, str], ledger: Ledger) -> str | None:
    """Why a rollback to ``version`` would break the schema, or None. ``contracts``:
    applied contract migration -> the release it needs."""
    entries = ledger.entries()
    broken = [
        f"{name} (needs {needs})"
        for name, needs in sorted(contracts.items())
        if version != needs and predates(entries, version, needs)
    ]
    if not broken:
        return None
    return (
        f"{version} predates the applied contract migration(s) {', '.join(broken)}: its code "
        "needs the old schema. Roll back to a later release, or pass --force (recorded)"
    )
