"""One deploy and one rollback, for every target.

preflight -> lock -> deploy (prober measuring downtime) -> verify (health + smoke)
-> watch (error rate, p95, spike; automatic rollback) -> record -> notify.
Everything a target does goes through the Target interface, the lock and the ledger,
so ECS, App Runner and Kubernetes plug in unchanged.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from shipwright import approval, gates, metrics_report, postmortem
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
    seconds: float = 0.0  # from taking the lock to the ledger entry (and pruning)

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
    """The target's own checks, then health endpoints and the smoke suite on the app's URL
    (APP_URL, else the one the target serves at)."""
    result = Checks(list(dep.target.verify(release)))
    url = dep.app_url
    if url:
        result.items += health.health_from_settings(dep.settings, url).items
        variables = {"version": release.version}
        result.items += smoke.smoke_from_settings(dep.settings, url, variables=variables).items
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


def deploy(dep: Deployment, release: Release, opts: Options) -> Result:
    """The whole release: nothing changes unless every gate passes."""
    result = Result("deploy", release, ExitCode.FAILED)
    if opts.gates:
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


def rollback(dep: Deployment, to: str | Release | None, opts: Options) -> Result:
    """Back to ``to`` (a version from the ledger, or a Release), else the last good one."""
    release = (
        to if isinstance(to, Release) else dep.ledger.rollback_release(to, dep.target.current())
    )
    return _release_or_plan(dep, release, opts, Result("rollback", release, ExitCode.FAILED))


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
    _notify(dep, "started", release, result.action.title())
    return _release(dep, release, opts, result)


def _release(dep, release, opts, result: Result) -> Result:
    started_at = datetime.now(UTC)
    started = time.monotonic()
    action = result.action
    with dep.lock.hold(
        version=release.version,
        reason=opts.reason,
        wait=opts.lock_wait,
        break_first=opts.break_lock,
    ):
        current = dep.target.current()  # what serves once no one else can change it
        before = _before_move(dep, release, opts, result, current)
        source = _watch_source(dep) if opts.watch else None
        baseline = watch.take_baseline(source) if source else None
        # Downtime is what users of the serving release see; a first deploy has none.
        probe = _probe(dep) if current else None
        try:
            with probe or contextlib.nullcontext():
                outcome = _move(dep, action, release)
        except ConfigError:
            raise  # bad input: nothing ran, nothing to record
        except BaseException as exc:  # the target could not say where things stand
            _aborted(dep, result, opts, current, exc, {}, "run invoke status to see what serves")
            raise
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
        result.entry = dep.ledger.record(
            action,
            release,
            recorded,
            phases=outcome.phases,
            metrics=result.metrics,
            reason=opts.reason,
            hosts=outcome.units,
            notes=notes,
            previous=current,
            gates=_gate_record(result, opts),
            approved_by=opts.approved_by,
        )
        if code == ExitCode.OK:
            try:
                keep = dep.settings.integer("DEPLOY_KEEP_IMAGES")
                dep.target.prune(dep.ledger.needed_images(keep))
            except ShipwrightError as exc:
                say(f"– images not pruned: {exc}")
    result.seconds = time.monotonic() - started
    _finish(dep, result, current, started_at, result.seconds)
    return result


def _check(dep, release, opts, result: Result, current, source, baseline, notes):
    """After traffic moved: verify, then watch (deploys); roll back when either fails.
    Returns (exit code, whether the flow rolled back)."""
    action = result.action
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
    if not reason:
        return ExitCode.OK, False
    status(False, f"{action} of {release.version}: {reason}")
    notes.append(reason)
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
