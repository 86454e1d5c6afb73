"""One deploy and one rollback, for every target.

preflight -> lock -> deploy (prober measuring downtime) -> verify (target checks,
health and smoke at once) -> watch (error rate, p95, spike; automatic rollback) ->
prune -> notify -> record. Everything a target does goes through the Target interface,
the lock and the ledger, so ECS, App Runner and Kubernetes plug in unchanged. One
stopwatch (:mod:`shipwright.timing`) books every second of the run into the ledger
entry's phases, which is why the entry is written last (whatever happens before).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime

from shipwright import approval, gates, httpcall, metrics_report, postmortem
from shipwright.checks import health, metrics, smoke, watch
from shipwright.checks.prober import Prober
from shipwright.domain import RESULT_FOR, Check, Checks, Outcome, Release, exit_code_for
from shipwright.errors import ConfigError, ExitCode, ShipwrightError
from shipwright.flow.hooks import Hook
from shipwright.flow.session import Deployment
from shipwright.image.reference import ImageRef
from shipwright.ledger import Entry
from shipwright.notify import sentry, slack
from shipwright.output import say, status
from shipwright.runner import Runner
from shipwright.settings import Settings
from shipwright.settings.schema import DEPLOYED
from shipwright.timing import BETWEEN, Stopwatch


@dataclass
class Options:
    """How one deploy or rollback runs. ``gates=False`` (``--no-gates``) skips the
    preflight and is recorded as ungated; ``watch=False`` skips the watch window."""

    reason: str = ""
    lock_wait: float = 0.0
    break_lock: bool = False
    override_branch: bool = False
    override_audit: bool = False
    gates: bool = True
    watch: bool = True
    branch: str = ""
    #: Called with each watch sample after it is printed (progress for callers).
    on_sample: Callable[[watch.Sample], None] | None = None
    #: Approval (see shipwright.approval): --yes, or how to ask at a terminal.
    yes: bool = False
    ask: Callable[[str], str] | None = None
    approved_by: str = ""  # filled in once approved, recorded in the ledger
    #: What the environment adds to the flow (shipwright.flow.hooks): gates, and work
    #: after the lock and before any traffic moves.
    hooks: Sequence[Hook] = ()
    #: Override a hook's refusal (--force); the ledger records it.
    force: bool = False


@dataclass
class Result:
    action: str
    release: Release
    exit_code: ExitCode
    outcome: Outcome | None = None
    entry: Entry | None = None
    metrics: dict[str, object] = field(default_factory=dict)
    gates: Checks | None = None
    checks: Checks | None = None
    watch: watch.WatchResult | None = None
    postmortem: str | None = None
    seconds: float = 0.0  # wall time of the whole run, start-up included
    #: Where the seconds went: consecutive laps from the start to the end of the run.
    clock: Stopwatch = field(default_factory=Stopwatch)

    @property
    def recorded(self) -> str:
        """What the ledger says of this run ("rolled_back" when the flow reverted it)."""
        return self.entry.result if self.entry else RESULT_FOR[self.exit_code]

    @property
    def ok(self) -> bool:
        return self.exit_code == ExitCode.OK


def release_for(
    settings: Settings, runner: Runner, version: str | None = None, image: str | None = None
) -> Release:
    """``--image REF`` as given (it must carry a digest), else the pushed record of
    ``--version`` (default: the newest push of the current branch). A ConfigError --
    before any lock, notice or change -- when neither can be had."""
    if image:
        ref = ImageRef.parse(image).require_digest()
        return Release(settings.environment, version or ref.tag or ref.digest[7:19], str(ref))
    from shipwright.image import record

    if version is None:
        from shipwright.image.tags import git_info

        branch = git_info(runner).branch
        found = record.latest_for_branch(branch)
        if found is None or not found.digest:
            raise ConfigError(
                f"no pushed image for branch {branch!r}: run invoke image.push, or pass "
                "--version VERSION or --image REPO@sha256:…"
            )
        version = found.version
    rec = record.resolve(version)
    ImageRef.parse(rec.reference).require_digest(f"{rec.version} was built but never pushed")
    return Release(settings.environment, rec.version, rec.reference, git_sha=rec.git_sha)


def verify(dep: Deployment, release: Release) -> Checks:
    """The target's own checks, the health endpoints and the smoke suite on the app's URL
    (APP_URL, else the one the target serves at), all at once (they only read; none
    waits for another)."""
    url = dep.app_url
    parts: list[Callable[[], Checks]] = [lambda: dep.target.verify(release)]
    if url:
        variables = {"version": release.version}
        parts.append(lambda: health.health_from_settings(dep.settings, url))
        parts.append(lambda: smoke.smoke_from_settings(dep.settings, url, variables=variables))
    with ThreadPoolExecutor(max_workers=len(parts)) as pool:
        done = [future.result() for future in [pool.submit(part) for part in parts]]
    result = Checks([check for checks in done for check in checks])
    for check in result:
        status(check.ok, f"verify: {check.name}" + (f" — {check.detail}" if check.detail else ""))
    return result


def _watch_source(dep: Deployment):
    url = dep.app_url
    if not (url or dep.settings.get("PROMETHEUS_URL")):
        return None
    return metrics.source_from_settings(dep.settings, url)


def _probe(dep: Deployment) -> Prober | None:
    url = dep.app_url
    if not url:
        return None
    paths = dep.settings.items_list("HEALTH_PATHS")
    return Prober(url.rstrip("/") + (paths[0] if paths else "/health"), timeout=2.0)


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


def preflight(dep: Deployment, release: Release, opts: Options) -> Checks:
    """Every gate, evaluated and printed (also under --dry-run); nothing changes."""
    staging = None
    if dep.staging_ledger is not None:
        try:
            staging = dep.staging_ledger.history(limit=None)
        except ShipwrightError as exc:
            say(f"– staging's ledger could not be read: {str(exc).splitlines()[0]}")
    checks = gates.preflight_from_settings(
        dep.settings,
        release=release,
        branch=opts.branch,
        ledger=dep.ledger,
        staging_ledger=staging,
        override_branch=opts.override_branch,
        override_audit=opts.override_audit,
        current=dep.target.current(),
    )
    checks.items += [check for hook in opts.hooks for check in hook.gates(dep, release)]
    gates.report(checks)
    return checks


def deploy(
    dep: Deployment, release: Release, opts: Options, clock: Stopwatch | None = None
) -> Result:
    """The whole release: nothing changes unless every gate passes. ``clock``: the run's
    stopwatch when the caller started it earlier (the CLI: at process start)."""
    result = Result("deploy", release, ExitCode.FAILED, clock=clock or Stopwatch())
    _connect(dep, result.clock)
    if opts.gates:
        with result.clock.phase("gates"):
            result.gates = preflight(dep, release, opts)
        failed = ", ".join(c.name for c in result.gates if not c.ok)
        if failed and dep.settings.environment in DEPLOYED:
            if dep.runner.dry_run:  # show what would happen once the gates pass
                _release_or_plan(dep, release, opts, result)
            raise ShipwrightError(f"preflight refused the deploy ({failed}); nothing changed")
        if failed:  # a laptop's development deploy: the gates inform, they do not block
            say(f"– gates not met ({failed}): advisory outside staging and production")
    else:
        say("– ungated (--no-gates): no preflight; recorded as such in the ledger")
    return _release_or_plan(dep, release, opts, result)


def rollback(
    dep: Deployment, to: str | Release | None, opts: Options, clock: Stopwatch | None = None
) -> Result:
    """Back to ``to`` (a version from the ledger, or a Release), else the last good one."""
    clock = clock or Stopwatch()
    _connect(dep, clock)
    with clock.phase("history"):
        release = (
            to if isinstance(to, Release) else dep.ledger.rollback_release(to, dep.target.current())
        )
    result = Result("rollback", release, ExitCode.FAILED, clock=clock)
    return _release_or_plan(dep, release, opts, result)


def _connect(dep: Deployment, clock: Stopwatch) -> None:
    """Open the target's connections at once, up front, timed as ``connect``."""
    with clock.phase("connect"):
        dep.target.connect()


def _release_or_plan(dep: Deployment, release: Release, opts: Options, result: Result) -> Result:
    """Under --dry-run, the target's plan (gates were already printed); else approval
    (where the environment needs it), then the release."""
    if dep.runner.dry_run:
        for hook in opts.hooks:
            for line in hook.plan(dep, release, result.action, opts.force):
                say(f"would {line}")
        for step in dep.target.plan(release, result.action).steps:
            say(f"would {step}")
        result.exit_code = ExitCode.OK
        return result
    what = f"{result.action} {release.version}"
    opts.approved_by = approval.approve(dep.settings, what, yes=opts.yes, ask=opts.ask)
    if opts.approved_by:
        say(f"✔ approved by {opts.approved_by}")
    with result.clock.phase("notices"):
        _notify(dep, "started", release, result.action.title())
    return _release(dep, release, opts, result)


def _release(dep, release, opts, result: Result) -> Result:
    started_at = datetime.now(UTC)
    started = time.monotonic()
    action, clock = result.action, result.clock
    clock.lap(BETWEEN)
    with dep.lock.hold(
        version=release.version,
        reason=opts.reason,
        wait=opts.lock_wait,
        break_first=opts.break_lock,
    ):
        clock.lap("lock")
        with clock.phase("current"):
            current = dep.target.current()  # what serves once no one else can change it
        with clock.phase("migrations"):
            before = _before_move(dep, release, opts, result, current)
        with clock.phase("baseline"):
            source = _watch_source(dep) if opts.watch else None
            baseline = watch.take_baseline(source) if source else None
        # Downtime is what users of the serving release see; a first deploy has none.
        probe = _probe(dep) if current else None
        clock.lap(BETWEEN)
        try:
            with probe or contextlib.nullcontext():
                outcome = _move(dep, action, release)
        except ConfigError:
            raise  # bad input: nothing ran, nothing to record
        except BaseException as exc:  # the target could not say where things stand
            _aborted(dep, result, opts, current, exc, {}, "run invoke status to see what serves")
            raise
        clock.split("move", outcome.phases)  # the target's phases, and the rest of its move
        result.outcome = outcome
        moved = time.monotonic() - started
        result.metrics = {
            "deployment_seconds" if action == "deploy" else "rollback_seconds": round(moved, 3)
        }
        if probe:
            result.metrics.update(
                downtime_seconds=round(probe.downtime_seconds, 3),
                failed_requests=probe.failed,
                probe_requests=probe.total,
                probe_keepalive_retries=probe.keepalive_retries,
            )
        code = exit_code_for(outcome)
        reverted = False  # the flow itself rolled back (verify or watch failed)
        notes = before + ([outcome.message] if outcome.message else [])
        if code == ExitCode.OK:
            try:
                checked = _check(dep, release, opts, result, current, source, baseline, notes)
                code, reverted = checked
            except BaseException as exc:  # Ctrl-C (or an error) after traffic moved
                note = f"{release.version} was not verified (or the rollback did not finish)"
                _aborted(dep, result, opts, current, exc, outcome.units, note)
                raise
        result.exit_code = code
        # "restored": the target put the previous release back itself (outcome.restored);
        # "rolled_back": the deploy completed, then the flow reverted it. A failed
        # automatic rollback leaves the deploy "broken".
        recorded = "rolled_back" if reverted and code == ExitCode.RESTORED else RESULT_FOR[code]
        entry = dep.ledger.entry(
            action,
            release,
            recorded,
            metrics=result.metrics,
            reason=opts.reason,
            hosts=outcome.units,
            notes=notes,
            previous=current,
            gates=_gate_record(result, opts),
            approved_by=opts.approved_by,
        )
        # Pruning and the notices run before the entry is written, so its phases hold
        # them too; the entry is written whatever happens to them (Ctrl-C included).
        try:
            if code == ExitCode.OK:
                with clock.phase("prune"):
                    _prune(dep, entry)
            with clock.phase("notices"):
                _tell(dep, result, entry, current, started_at)
        finally:
            clock.lap(BETWEEN)
            entry.phases = clock.phases
            with clock.phase("ledger"):
                result.entry = dep.ledger.write(entry)
    clock.lap("unlock")
    _report(result)
    clock.lap("report")
    result.seconds = clock.seconds
    return result


def prune(dep: Deployment, opts: Options) -> None:
    """``invoke prune``: the target's housekeeping between runs (a CI schedule can run
    it), under the deploy lock -- a rollback may be about to use what it would stop."""
    if dep.runner.dry_run:
        _prune(dep)
        return
    with dep.lock.hold(reason=opts.reason or "prune", wait=opts.lock_wait):
        _prune(dep)


def _prune(dep: Deployment, entry: Entry | None = None) -> None:
    """What the ledger (with this run's ``entry``) no longer needs goes."""
    try:
        keep = dep.settings.integer("DEPLOY_KEEP_IMAGES")
        dep.target.prune(dep.ledger.needed_images(keep, pending=entry))
    except ShipwrightError as exc:
        say(f"– images not pruned: {exc}")


def _check(dep, release, opts, result: Result, current, source, baseline, notes):
    """After traffic moved: verify, then watch (deploys); roll back when either fails.
    Returns (exit code, whether the flow rolled back)."""
    action, clock = result.action, result.clock
    with clock.phase("verify"):
        result.checks = verify(dep, release)
    reason = (
        ""
        if result.checks.ok
        else "verification failed: " + ", ".join(c.name for c in result.checks if not c.ok)
    )
    if not reason and source and action == "deploy":
        with clock.phase("watch"):
            result.watch = watch.watch_from_settings(
                dep.settings, source, baseline, on_sample=lambda s: _sampled(s, opts)
            )
        result.metrics["watch"] = result.watch.to_dict()
        if result.watch.spike is not None:
            result.metrics["error_spike"] = round(result.watch.spike, 2)
        if result.watch.rollback:
            reason = "watch: " + "; ".join(result.watch.reasons)
    if not reason:
        return ExitCode.OK, False
    status(False, f"{action} of {release.version}: {reason}")
    notes.append(reason)
    with clock.phase("rollback"):
        return _undo(dep, release, current, result, notes), True


def _gate_record(result: Result, opts: Options) -> list[dict[str, object]] | None:
    """The gate results as the ledger keeps them; None for an ungated run."""
    if result.action != "deploy" or not opts.gates:
        return None
    return [check.__dict__ for check in result.gates or []]


def _aborted(dep, result: Result, opts, current, exc: BaseException, units, note="") -> None:
    """Record an interrupted run as broken (a human must look), tell Slack, and make a
    ShipwrightError exit with 4."""
    action, release = result.action, result.release
    dep.ledger.record(
        action,
        release,
        "broken",
        reason=opts.reason,
        hosts=units,
        previous=current,
        notes=[f"aborted: {type(exc).__name__}: {exc}"] + ([note] if note else []),
        gates=_gate_record(result, opts),
        approved_by=opts.approved_by,
    )
    _notify(dep, "failed", release, action.title(), detail=str(exc))
    if isinstance(exc, ShipwrightError):
        exc.exit_code = ExitCode.BROKEN


def _before_move(dep, release: Release, opts: Options, result: Result, current) -> list[str]:
    """The hooks' work after the lock and before the move; their notes for the ledger. A
    failure stops the run with nothing moved: recorded as failed, exit 1."""
    notes: list[str] = []
    try:
        for hook in opts.hooks:
            notes += hook.before_move(dep, release, result.action, opts.force)
    except ConfigError:
        raise  # a refusal: nothing ran, nothing to record
    except BaseException as exc:
        why = f"{type(exc).__name__}" if isinstance(exc, KeyboardInterrupt) else str(exc)
        result.entry = dep.ledger.record(
            result.action,
            release,
            "failed",
            reason=opts.reason,
            previous=current,
            notes=notes + [f"stopped before any traffic moved: {why}"],
            gates=_gate_record(result, opts),
        )
        _notify(dep, "failed", release, result.action.title(), detail=why)
        if isinstance(exc, ShipwrightError):
            raise ShipwrightError(
                f"{result.action} {release.version} stopped before any traffic moved: {exc}\n"
                f"{WHAT_DID_NOT_MOVE}",
                ExitCode.FAILED,
            ) from None
        raise
    return notes


#: What a stop before the move means for the user.
WHAT_DID_NOT_MOVE = "nothing moved: the previous release still serves"


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
    """The target's deploy or rollback; what is checked afterwards starts on new
    connections (kept-alive ones may still reach the old release)."""
    try:
        return dep.target.deploy(release) if action == "deploy" else dep.target.rollback(release)
    finally:
        httpcall.drop_connections()


def _undo(dep, failed: Release, previous: Release | None, result: Result, notes) -> ExitCode:
    """Automatic rollback to what served before; the old release is verified again."""
    if previous is None:
        notes.append("no previous release to return to")
        return ExitCode.BROKEN
    say(f"↩ rolling back to {previous.version}")
    began = time.monotonic()
    outcome = _move(dep, "rollback", previous)
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


def _tell(dep, result: Result, entry: Entry, previous, started_at) -> None:
    """Slack and Sentry, and a postmortem skeleton after a rollback or a restore."""
    release, action = result.release, result.action.title()
    seconds = result.clock.seconds
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
        _notify(dep, event, release, action, seconds, detail="; ".join(entry.notes))
    if result.exit_code == ExitCode.RESTORED or (result.ok and result.action == "rollback"):
        path = postmortem.write_postmortem(
            dep.settings.environment,
            release if result.action == "deploy" else previous or release,
            restored=previous if result.action == "deploy" else release,
            entries=[entry, *dep.ledger.history(limit=9)],
            metrics=result.metrics,
            reason="; ".join(entry.notes),
            done=("execute", "verify"),
        )
        result.postmortem = str(path)
        say(f"postmortem skeleton: {path}")


def _report(result: Result) -> None:
    metrics_report.render(
        metrics_report.evaluate(
            deployment_seconds=result.metrics.get("deployment_seconds"),
            downtime_seconds=result.metrics.get("downtime_seconds"),
            error_spike=result.metrics.get("error_spike"),
            rollback_seconds=result.metrics.get("rollback_seconds"),
        )
    )
