"""One deploy and one rollback, for every target.

preflight -> lock -> deploy (prober measuring downtime) -> verify (health + smoke)
-> watch (error rate, p95, spike; automatic rollback) -> record -> notify.
Everything a target does goes through the Target interface, the lock and the ledger,
so ECS, App Runner and Kubernetes plug in unchanged.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from shipwright import gates, metrics_report, postmortem
from shipwright.checks import health, metrics, smoke, watch
from shipwright.errors import ConfigError, ExitCode, ShipwrightError
from shipwright.flow.prober import Prober
from shipwright.ledger import Ledger
from shipwright.lock import DeployLock
from shipwright.notify import sentry, slack
from shipwright.output import say, status
from shipwright.runner import Runner
from shipwright.settings import Settings
from shipwright.targets.base import Check, Checks, Outcome, Release

RESULT_FOR = {
    ExitCode.OK: "succeeded",
    ExitCode.FAILED: "failed",
    ExitCode.RESTORED: "restored",
    ExitCode.BROKEN: "broken",
}


@dataclass
class Deployment:
    """What one environment's flow works with."""

    settings: Settings
    runner: Runner
    target: Any  # shipwright.targets.base.Target
    ledger: Ledger
    lock: DeployLock
    staging_ledger: Ledger | None = None  # for the production soak gate


@dataclass
class Options:
    reason: str = ""
    lock_wait: float = 0.0
    break_lock: bool = False
    override_branch: bool = False
    gates: bool = True
    watch: bool = True
    branch: str = ""
    #: Called with each watch sample after it is printed (progress for callers).
    on_sample: Callable[[watch.Sample], None] | None = None


@dataclass
class Result:
    action: str
    release: Release
    exit_code: ExitCode
    outcome: Outcome | None = None
    entry: Any = None
    metrics: dict[str, Any] = field(default_factory=dict)
    gates: Checks | None = None
    checks: Checks | None = None
    watch: watch.WatchResult | None = None
    postmortem: str | None = None

    @property
    def ok(self) -> bool:
        return self.exit_code == ExitCode.OK


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


def rollback_target(dep: Deployment, version: str | None) -> Release:
    """The named version from the ledger, else the last good release before what serves."""
    if version:
        for entry in dep.ledger.history(limit=None):
            if entry.release and entry.version == version and entry.release.get("image"):
                return Release.from_dict(entry.release)
        raise ConfigError(f"version {version!r} is not in the ledger of {dep.ledger.environment!r}")
    current = dep.target.current()
    good = dep.ledger.last_good(exclude_version=current.version if current else None)
    if good is None:
        raise ConfigError(
            f"the ledger of {dep.ledger.environment!r} has no earlier good release to roll back to"
        )
    return good


def verify(dep: Deployment, release: Release) -> Checks:
    """The target's own checks, then health endpoints and the smoke suite on APP_URL."""
    result = Checks(list(dep.target.verify(release)))
    url = dep.settings.get("APP_URL")
    if url:
        result.items += health.health_from_settings(dep.settings, url).items
        variables = {"version": release.version}
        result.items += smoke.smoke_from_settings(dep.settings, url, variables=variables).items
    for check in result:
        status(check.ok, f"verify: {check.name}" + (f" — {check.detail}" if check.detail else ""))
    return result


def _watch_source(dep: Deployment):
    url = dep.settings.get("APP_URL")
    if not (url or dep.settings.get("PROMETHEUS_URL")):
        return None
    return metrics.source_from_settings(dep.settings, url)


def _probe(dep: Deployment) -> Prober | None:
    url = dep.settings.get("APP_URL")
    if not url:
        return None
    paths = dep.settings.items_list("HEALTH_PATHS")
    return Prober(url.rstrip("/") + (paths[0] if paths else "/health"))


def _notify(dep: Deployment, event: str, release: Release, action: str, seconds=None, detail=""):
    slack.notify(
        dep.settings,
        event,
        release,
        action=action,
        duration=seconds,
        detail=detail,
        runner=dep.runner,
    )


def deploy(dep: Deployment, release: Release, opts: Options) -> Result:
    """The whole release: nothing changes unless every gate passes."""
    result = Result("deploy", release, ExitCode.FAILED)
    current = dep.target.current()
    if opts.gates:
        result.gates = gates.preflight_from_settings(
            dep.settings,
            release=release,
            branch=opts.branch,
            ledger=dep.ledger,
            staging_ledger=dep.staging_ledger,
            override_branch=opts.override_branch,
            current=current,
        )
        gates.report(result.gates)
        if not result.gates.ok:
            failed = ", ".join(c.name for c in result.gates if not c.ok)
            raise ShipwrightError(f"preflight refused the deploy ({failed}); nothing changed")
    if dep.runner.dry_run:
        for step in dep.target.plan(release).steps:
            say(f"would {step}")
        result.exit_code = ExitCode.OK
        return result
    _notify(dep, "started", release, "Deploy")
    return _release(dep, release, opts, result, current)


def rollback(dep: Deployment, to: str | None, opts: Options) -> Result:
    release = rollback_target(dep, to)
    result = Result("rollback", release, ExitCode.FAILED)
    if dep.runner.dry_run:
        for step in dep.target.plan(release).steps:
            say(f"would {step}")
        result.exit_code = ExitCode.OK
        return result
    _notify(dep, "started", release, "Rollback")
    return _release(dep, release, opts, result, dep.target.current())


def _release(dep, release, opts, result: Result, current: Release | None) -> Result:
    started_at = datetime.now(UTC)
    started = time.monotonic()
    action = result.action
    with dep.lock.hold(
        version=release.version,
        reason=opts.reason,
        wait=opts.lock_wait,
        break_first=opts.break_lock,
    ):
        source = _watch_source(dep) if opts.watch else None
        baseline = watch.take_baseline(source) if source else None
        probe = _probe(dep)
        try:
            if probe:
                with probe:
                    outcome = _move(dep, action, release)
            else:
                outcome = _move(dep, action, release)
        except ConfigError:
            raise  # bad input: nothing ran, nothing to record
        except BaseException as exc:  # an error, or Ctrl-C while a target restored itself
            units = {r.name: r.unit() for r in getattr(dep.target, "last_runs", [])}
            dep.ledger.record(
                action,
                release,
                "broken",
                reason=opts.reason,
                hosts=units,
                previous=current,
                notes=[f"aborted: {type(exc).__name__}: {exc}"],
            )
            _notify(dep, "failed", release, action.title(), detail=str(exc))
            if isinstance(exc, ShipwrightError):
                exc.exit_code = ExitCode.BROKEN
            raise
        result.outcome = outcome
        moved = time.monotonic() - started
        result.metrics = {
            "deployment_seconds" if action == "deploy" else "rollback_seconds": round(moved, 3)
        }
        if probe:
            result.metrics.update(
                downtime_seconds=round(probe.report.downtime_seconds, 3),
                failed_requests=probe.report.failed,
                probe_requests=probe.report.sent,
            )
        code = exit_code_for(outcome)
        notes = [outcome.message] if outcome.message else []
        if code == ExitCode.OK:
            result.checks = verify(dep, release)
            reason = (
                ""
                if result.checks.ok
                else "verification failed: " + ", ".join(c.name for c in result.checks if not c.ok)
            )
            if not reason and source and action == "deploy":
                result.watch = watch.watch_from_settings(
                    dep.settings, source, baseline, on_sample=lambda s: _sampled(s, opts)
                )
                result.metrics["watch"] = result.watch.to_dict()
                if result.watch.spike is not None:
                    result.metrics["error_spike"] = round(result.watch.spike, 2)
                if result.watch.rollback:
                    reason = "watch: " + "; ".join(result.watch.reasons)
            if reason:
                status(False, f"{action} of {release.version}: {reason}")
                notes.append(reason)
                code = _undo(dep, release, current, result, notes)
        result.exit_code = code
        result.entry = dep.ledger.record(
            action,
            release,
            RESULT_FOR[code]
            if code != ExitCode.RESTORED or action == "rollback"
            else "rolled_back",
            phases=outcome.phases,
            metrics=result.metrics,
            reason=opts.reason,
            hosts=outcome.units,
            notes=notes,
            previous=current,
        )
        if code == ExitCode.OK and hasattr(dep.target, "prune"):
            try:
                dep.target.prune(dep.ledger.needed_images())
            except ShipwrightError as exc:
                say(f"– images not pruned: {exc}")
    seconds = time.monotonic() - started
    _finish(dep, result, current, started_at, seconds)
    return result


def _sampled(sample: watch.Sample, opts: Options) -> None:
    """One progress line per watch poll."""
    if sample.window is not None:
        w = sample.window
        p95 = "–" if w.p95_ms is None else f"{w.p95_ms:.0f} ms"
        rate = "–" if w.error_rate is None else f"{w.error_rate:.1%}"
        say(f"  watch {sample.elapsed:5.1f}s: error rate {rate}, p95 {p95}")
    elif sample.error:
        say(f"  watch {sample.elapsed:5.1f}s: {sample.error}")
    if opts.on_sample:
        opts.on_sample(sample)


def _move(dep: Deployment, action: str, release: Release) -> Outcome:
    return dep.target.deploy(release) if action == "deploy" else dep.target.rollback(release)


def _undo(dep, failed: Release, previous: Release | None, result: Result, notes) -> ExitCode:
    """Automatic rollback to what served before; the old release is verified again."""
    if previous is None:
        notes.append("no previous release to return to")
        return ExitCode.BROKEN
    say(f"↩ rolling back to {previous.version}")
    began = time.monotonic()
    outcome = dep.target.rollback(previous)
    result.metrics["rollback_seconds"] = round(time.monotonic() - began, 3)
    if not outcome.ok:
        notes.append(f"automatic rollback failed: {outcome.message}")
        return ExitCode.BROKEN
    again = verify(dep, previous)
    result.checks = Checks(
        (result.checks.items if result.checks else [])
        + [Check(f"previous release {previous.version} verified", again.ok)]
    )
    notes.append(f"rolled back to {previous.version}" + ("" if again.ok else " (not healthy)"))
    return ExitCode.RESTORED if again.ok else ExitCode.BROKEN


def _finish(dep, result: Result, previous, started_at, seconds) -> None:
    release, action = result.release, result.action.title()
    if result.ok:
        _notify(dep, "succeeded", release, action, seconds)
        if result.action == "deploy":
            sentry.record_release(
                dep.settings,
                release,
                started=started_at,
                finished=datetime.now(UTC),
                previous=previous,
                runner=dep.runner,
            )
    else:
        event = "rolled_back" if result.exit_code == ExitCode.RESTORED else "failed"
        _notify(dep, event, release, action, seconds, detail="; ".join(result.entry.notes))
    if result.exit_code == ExitCode.RESTORED or (result.ok and result.action == "rollback"):
        path = postmortem.write_postmortem(
            dep.settings.environment,
            release if result.action == "deploy" else previous or release,
            restored=previous if result.action == "deploy" else release,
            entries=dep.ledger.history(limit=10),
            metrics=result.metrics,
            reason="; ".join(result.entry.notes),
            done=("execute", "verify"),
        )
        result.postmortem = str(path)
        say(f"postmortem skeleton: {path}")
    metrics_report.render(
        metrics_report.evaluate(
            deployment_seconds=result.metrics.get("deployment_seconds"),
            downtime_seconds=result.metrics.get("downtime_seconds"),
            error_spike=result.metrics.get("error_spike"),
            rollback_seconds=result.metrics.get("rollback_seconds"),
        )
    )
