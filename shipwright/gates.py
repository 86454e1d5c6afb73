"""Preflight gates: may this version go to this environment? Answered before anything changes.

Why all of them, every time: the specification's pre-deployment checklist (tests
passing, no critical vulnerabilities, staging tested for 24 hours, a rollback plan)
and branch strategy (feature/* is CI only, develop deploys to staging, main to
production) are cheap to evaluate and expensive to discover one by one, so
:func:`preflight` evaluates every gate and reports each as ✔/✘ with its reason.

Sources of truth: the commit's CI record (``stages.results.load_record``) for tests
and audit, and the ledgers -- the staging ledger for the soak, the target
environment's for the rollback target. Ledgers are read through a small protocol
(``history(limit=None)`` returning entries newest first, as :class:`shipwright.ledger.Ledger`
does; entries may be ``Entry`` objects or plain dicts with action, result,
release{version, git_sha}, previous{version}, when) so tests can pass lists.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from shipwright import PROJECT_ROOT
from shipwright.domain import Check, Checks, Release
from shipwright.output import status
from shipwright.stages.results import load_record

#: Which branch may deploy where (specification: Branch Strategy). Environments not
#: listed have no branch rule.
BRANCH_RULES: dict[str, str] = {"staging": "develop", "production": "main"}
CI_ONLY = ("feature/*",)
#: The CI stages a version must have passed; a tuple means "any one of these" (the
#: coverage run includes the integration tests).
REQUIRED_STAGES: tuple[str | tuple[str, ...], ...] = (
    "lint",
    "test.unit",
    ("test.integration", "test.coverage"),
    "audit",
)
AUDIT_STEPS = ("npm audit", "pip-audit", "snyk")
SERVING = ("deploy", "rollback")
ABANDONED_RESULTS = ("rolled_back", "restored", "broken")


class History(Protocol):
    """What a gate needs of a ledger."""

    def history(self, limit: int | None = ...) -> Sequence[Any]: ...


# -- entries, whatever their shape -------------------------------------------------------
@dataclass(frozen=True)
class _Event:
    action: str
    result: str
    version: str
    git_sha: str
    previous: str
    when: datetime


def _field(entry: Any, key: str) -> Any:
    return entry.get(key) if isinstance(entry, dict) else getattr(entry, key, None)


def parse_when(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        stamp = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)


def _events(ledger: History | Iterable[Any]) -> list[_Event]:
    """Oldest first, whatever shape the source gives. A Ledger's history is newest first
    (append order); ties in ``when`` (second precision) keep that order."""
    raw = list(reversed(ledger.history(limit=None))) if hasattr(ledger, "history") else list(ledger)
    out = []
    for entry in raw:
        release = _field(entry, "release") or {}
        previous = _field(entry, "previous") or {}
        when = parse_when(_field(entry, "when"))
        if when is None:
            continue
        out.append(
            _Event(
                str(_field(entry, "action") or ""),
                str(_field(entry, "result") or ""),
                str(release.get("version", "")),
                str(release.get("git_sha", "")),
                str(previous.get("version", "")),
                when,
            )
        )
    return sorted(out, key=lambda e: e.when)


# -- branch --------------------------------------------------------------------------------
def environment_for_branch(branch: str) -> str | None:
    """Where a push to ``branch`` deploys: develop -> staging, main -> production;
    feature/* and any other branch -> None (CI only)."""
    branch = branch.removeprefix("refs/heads/")
    return next((env for env, wanted in BRANCH_RULES.items() if wanted == branch), None)


def branch_gate(branch: str, environment: str, *, override: bool = False) -> Check:
    """feature/* -> CI only; develop -> staging; main -> production. An override passes
    the gate but says so loudly (it is recorded with the deploy)."""
    name = "branch"
    branch = branch.removeprefix("refs/heads/")
    wanted = BRANCH_RULES.get(environment)
    if wanted is None:
        return Check(name, True, f"{branch}: no branch rule for {environment!r}")
    if branch == wanted:
        return Check(name, True, f"{branch} deploys to {environment}")
    if any(fnmatch.fnmatch(branch, pattern) for pattern in CI_ONLY):
        why = f"{branch} is CI only (feature branches never deploy)"
    else:
        why = f"only {wanted} deploys to {environment}, not {branch or 'an unknown branch'}"
    if override:
        return Check(name, True, f"OVERRIDDEN: {why}")
    return Check(name, False, f"{why} (override with the branch-override flag)")


# -- CI record -------------------------------------------------------------------------------
def ci_gate(
    sha: str,
    *,
    root: Path = PROJECT_ROOT,
    record: dict[str, Any] | None = None,
    required: Sequence[str | tuple[str, ...]] = REQUIRED_STAGES,
) -> Check:
    """Every required stage recorded for this commit, and none of its stages failed."""
    name = "CI passed"
    if not sha or sha == "unknown":
        return Check(name, False, "the commit is unknown: cannot find its CI record")
    stages = (record if record is not None else load_record(sha, root)).get("stages", {})
    failed = sorted(s for s, data in stages.items() if not data.get("ok"))
    missing = []
    for need in required:
        options = (need,) if isinstance(need, str) else need
        if not any(option in stages for option in options):
            missing.append(" or ".join(options))
    short = sha[:12]
    if failed or missing:
        parts = ([f"failed: {', '.join(failed)}"] if failed else []) + (
            [f"not run: {', '.join(missing)}"] if missing else []
        )
        return Check(name, False, f"{short}: {'; '.join(parts)}")
    return Check(name, True, f"{short}: {', '.join(sorted(stages))} passed")


def audit_gate(
    sha: str,
    *,
    environment: str = "production",
    override: bool = False,
    root: Path = PROJECT_ROOT,
    record: dict[str, Any] | None = None,
) -> Check:
    """No critical vulnerability in the commit's audit (lower levels pass, as the
    specification's audit stage "continues on non-critical issues"). A scanner that
    could not audit is never clean: production refuses it unless overridden (the
    override is recorded with the gates); elsewhere it is reported, not blocking."""
    name = "no critical vulnerability"
    if not sha or sha == "unknown":
        return Check(name, False, "the commit is unknown: cannot find its audit")
    audit = (
        (record if record is not None else load_record(sha, root)).get("stages", {}).get("audit")
    )
    if not audit:
        return Check(name, False, f"{sha[:12]}: no audit recorded (run the audit stage)")
    steps = [s for s in audit.get("steps", []) if s.get("name") in AUDIT_STEPS]
    bad = [f"{s['name']}: {s.get('detail') or 'critical'}" for s in steps if s.get("ok") is False]
    if bad:
        return Check(name, False, "; ".join(bad))
    clean = [s["name"] for s in steps if s.get("ok") is True]
    unaudited = [s["name"] for s in steps if s.get("ok") is None and _could_not(s)]
    skipped = [s["name"] for s in steps if s.get("ok") is None and not _could_not(s)]
    parts = [f"{', '.join(clean)} clean"] if clean else []
    if unaudited:
        parts.append(f"could not audit: {', '.join(unaudited)}")
    detail = "; ".join(parts) or f"{sha[:12]}: no scanner ran"
    if skipped:
        detail += f" (not run: {', '.join(skipped)})"
    if not unaudited:
        return Check(name, bool(clean), detail)
    if override:
        return Check(name, True, f"OVERRIDDEN (--override-audit): {detail}")
    if environment == "production":
        return Check(name, False, f"{detail} (production needs an audit; --override-audit)")
    return Check(name, True, f"{detail} (not blocking in {environment})")


def _could_not(step: dict[str, Any]) -> bool:
    """A scanner that ran and could not audit (not one that was skipped by choice)."""
    return str(step.get("detail", "")).startswith("could not audit")


# -- staging soak -----------------------------------------------------------------------------
def _matches(event: _Event, version: str, git_sha: str) -> bool:
    return event.version == version or bool(git_sha and event.git_sha == git_sha)


def soak_gate(
    staging: History | Iterable[Any],
    version: str,
    *,
    hours: float,
    git_sha: str = "",
    now: datetime | None = None,
) -> Check:
    """The version (or another tag of the same commit) served healthy on staging for at
    least ``hours``: a succeeded deploy (or rollback to it), never rolled back away from
    since, serving either still or until a later release replaced it -- and the time it
    served, up to now or that replacement, is long enough."""
    name = f"staging soak ≥ {hours:g} h"
    if hours <= 0:
        return Check(name, True, "soak not required (STAGING_SOAK_HOURS=0)")
    now = now or datetime.now(UTC)
    events = _events(staging)
    stints: list[tuple[datetime, datetime | None, str]] = []  # start, end, replaced by
    current: datetime | None = None
    for event in events:
        serving = event.action in SERVING and event.result == "succeeded" and event.version
        if serving and _matches(event, version, git_sha):
            current = current or event.when
        elif current is not None and (
            (serving and not _matches(event, version, git_sha))
            or (event.action in SERVING and event.result == "broken")
        ):
            stints.append((current, event.when, event.version or "a broken deploy"))
            current = None
    if current is not None:
        stints.append((current, None, ""))
    if not stints:
        return Check(name, False, f"{version} never served on staging")
    abandoned = [
        e.when
        for e in events
        if (e.action == "rollback" and e.previous and e.previous == version)
        or (
            e.action == "deploy" and e.result in ABANDONED_RESULTS and _matches(e, version, git_sha)
        )
    ]
    best: tuple[float, datetime, datetime | None, str] | None = None
    for start, end, by in stints:
        if any(when >= start for when in abandoned):
            continue
        served = ((end or now) - start).total_seconds() / 3600
        if best is None or served > best[0]:
            best = (served, start, end, by)
    if best is None:
        when = max(abandoned).isoformat(timespec="minutes")
        return Check(name, False, f"{version} was rolled back on staging ({when})")
    served, start, end, by = best
    since = start.isoformat(timespec="minutes")
    how = "still serving" if end is None else f"until {by} replaced it"
    detail = f"{version} served on staging {served:.1f} h since {since} ({how})"
    if served >= hours:
        return Check(name, True, detail)
    return Check(name, False, f"{detail}: needs {hours:g} h")


# -- rollback target ----------------------------------------------------------------------------
def _last_good(events: list[_Event], exclude: str) -> _Event | None:
    """Ledger.last_good for plain entry lists: newest succeeded serving event whose
    version was not rolled back away from afterwards."""
    abandoned: set[str] = set()
    for event in reversed(events):
        if event.action == "rollback" and event.previous:
            abandoned.add(event.previous)
        if event.action == "deploy" and event.result in ABANDONED_RESULTS:
            abandoned.add(event.version)
        good = event.action in SERVING and event.result == "succeeded" and event.version
        if good and event.version not in abandoned and event.version != exclude:
            return event
    return None


def rollback_target_gate(ledger: Any, version: str, *, current: Release | None = None) -> Check:
    """Something to return to if this deploy goes wrong: the ledger's last good release
    other than this version, else what serves now; a first deploy is noted, not refused."""
    name = "rollback target"
    events = _events(ledger)
    if hasattr(ledger, "last_good"):
        target = ledger.last_good(exclude_version=version)
        found = (target.version, target.when) if target is not None else None
    else:
        event = _last_good(events, version)
        found = (event.version, event.when.isoformat()) if event is not None else None
    if found is not None:
        return Check(name, True, f"{found[0]} (last good, deployed {found[1]})")
    if current is not None and current.version and current.version != version:
        return Check(name, True, f"{current.version} (serving now; not in the ledger)")
    served = [e for e in events if e.action in SERVING and e.result != "failed"]
    if not served:
        return Check(name, True, "first deploy: nothing to roll back to (noted)")
    if any(e.result == "succeeded" and e.version == version for e in served):
        return Check(name, True, f"redeploy of {version}: a rollback returns to it")
    return Check(name, False, "no good release in the ledger to return to (all rolled back)")


# -- all of them ---------------------------------------------------------------------------------
def preflight(
    *,
    environment: str,
    release: Release,
    branch: str,
    ledger: Any,
    staging_ledger: Any = None,
    soak_hours: float = 24.0,
    override_branch: bool = False,
    override_audit: bool = False,
    current: Release | None = None,
    root: Path = PROJECT_ROOT,
    record: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> Checks:
    """Every gate, none skipped because an earlier one failed; the soak applies to
    production only."""
    sha = release.git_sha
    data = record if record is not None else load_record(sha, root) if sha else {"stages": {}}
    checks = Checks(
        [
            branch_gate(branch, environment, override=override_branch),
            ci_gate(sha, record=data),
            audit_gate(sha, environment=environment, override=override_audit, record=data),
        ]
    )
    if environment == "production":
        if staging_ledger is None:
            checks.items.append(Check("staging soak", False, "no staging ledger to read"))
        else:
            checks.items.append(
                soak_gate(staging_ledger, release.version, hours=soak_hours, git_sha=sha, now=now)
            )
    checks.items.append(rollback_target_gate(ledger, release.version, current=current))
    return checks


def preflight_from_settings(settings: Any, **kwargs: Any) -> Checks:
    """:func:`preflight` with STAGING_SOAK_HOURS from the settings."""
    hours = float(settings.get("STAGING_SOAK_HOURS", "24"))
    return preflight(environment=settings.environment, soak_hours=hours, **kwargs)


def report(checks: Checks) -> None:
    """One ✔/✘ line per gate."""
    for check in checks:
        status(check.ok, f"{check.name}: {check.detail}" if check.detail else check.name)
