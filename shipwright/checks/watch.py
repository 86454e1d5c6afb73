"""The watch window: after the switch, keep measuring and decide pass, warn or roll back.

Why a window and not one look: a release can pass its health and smoke checks and
still fail under real traffic a minute later (the specification watches the first
5 minutes for error rate and p95). Why an early exit: once the error rate is above
the rollback threshold with enough requests to trust it, every further second of
waiting is a second of users getting errors.

The decisions live in :class:`Watcher` (pure: windows in, decision out) so they are
unit-testable without HTTP or sleeping; :func:`run_watch` is the loop that feeds it
from a metrics source.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from shipwright.checks.metrics import (
    PASS,
    ROLLBACK,
    WARN,
    ScrapeError,
    Thresholds,
    Verdict,
    Window,
    WindowSource,
    judge,
)
from shipwright.checks.metrics.verdict import judged_dict
from shipwright.settings import Settings


@dataclass
class Sample:
    """One poll: the cumulative window since the watch began, and the latest interval."""

    elapsed: float
    window: Window | None
    interval: Window | None = None
    error: str = ""  # why this poll measured nothing

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"elapsed": round(self.elapsed, 1)}
        if self.window is not None:
            data["window"] = self.window.to_dict()
        if self.interval is not None:
            data["interval"] = self.interval.to_dict()
        if self.error:
            data["error"] = self.error
        return data


@dataclass
class WatchResult:
    verdict: str  # pass | warn | rollback
    samples: list[Sample] = field(default_factory=list)
    error_rate: float | None = None
    p95_ms: float | None = None
    spike: float | None = None
    requests: float = 0.0
    seconds: float = 0.0
    ended_early: bool = False
    reasons: list[str] = field(default_factory=list)
    judged: Verdict | None = None

    @property
    def rollback(self) -> bool:
        return self.verdict == ROLLBACK

    def to_dict(self) -> dict[str, Any]:
        return {
            **judged_dict(self.verdict, self.error_rate, self.p95_ms, self.spike),
            "requests": round(self.requests),
            "seconds": round(self.seconds, 1),
            "ended_early": self.ended_early,
            "reasons": list(self.reasons),
            "samples": [s.to_dict() for s in self.samples],
        }


class Watcher:
    """Feed it windows; it says when to stop early and what the verdict is."""

    def __init__(self, baseline: Window | None, thresholds: Thresholds | None = None):
        self.baseline, self.thresholds = baseline, thresholds or Thresholds()
        self.samples: list[Sample] = []
        self.early: str = ""  # why the watch stopped early

    @property
    def latest(self) -> Window | None:
        return next((s.window for s in reversed(self.samples) if s.window is not None), None)

    def observe(self, elapsed: float, window: Window | None, error: str = "") -> bool:
        """Record one poll; True when the release must be rolled back now: the error rate
        since the switch, or over the latest interval alone (a failure that starts late
        is not diluted by the good minutes before it), is above the rollback threshold
        with at least ``min_requests`` requests behind it."""
        previous = self.latest
        interval = None
        if window is not None:
            interval = window.minus(previous) if previous is not None else window
        self.samples.append(Sample(elapsed, window, interval, error))
        t = self.thresholds
        for part, label in ((window, "since the switch"), (interval, "in the last interval")):
            rate = part.error_rate if part is not None else None
            if part is not None and rate is not None and part.requests >= t.min_requests:
                if rate > t.error_rate_rollback:
                    self.early = (
                        f"error rate {rate:.2%} {label} > {t.error_rate_rollback:.2%} "
                        f"({part.requests:.0f} requests) after {elapsed:.0f} s"
                    )
                    return True
        return False

    def result(self, seconds: float) -> WatchResult:
        """The verdict over the whole window (the early reason first when there is one)."""
        window = self.latest
        if window is None:
            errors = sorted({s.error for s in self.samples if s.error})
            reason = "metrics unavailable: " + ("; ".join(errors) or "no sample taken")
            return WatchResult(WARN, list(self.samples), seconds=seconds, reasons=[reason])
        verdict = judge(window, self.baseline, self.thresholds)
        level = ROLLBACK if self.early else verdict.verdict
        reasons = ([self.early] if self.early else []) + verdict.reasons
        failed = sum(1 for s in self.samples if s.error)
        if failed and level == PASS:
            level = WARN
        if failed:
            reasons.append(f"{failed} of {len(self.samples)} polls could not read metrics")
        return WatchResult(
            level,
            list(self.samples),
            verdict.error_rate,
            verdict.p95_ms,
            verdict.spike,
            window.requests,
            seconds,
            bool(self.early),
            reasons,
            verdict,
        )


def take_baseline(source: WindowSource) -> Window | None:
    """Before the switch: how the release serving now behaves (None when it cannot be
    read -- a first deploy has nothing to compare with, and that must not block it)."""
    try:
        return source.baseline()
    except ScrapeError:
        try:
            source.begin()
        except ScrapeError:
            pass
        return None


def run_watch(
    source: WindowSource,
    baseline: Window | None,
    *,
    seconds: float,
    interval: float = 10.0,
    thresholds: Thresholds | None = None,
    on_sample: Callable[[Sample], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> WatchResult:
    """Poll ``source`` every ``interval`` seconds for ``seconds``; stop early on rollback.

    ``on_sample`` lets the caller print progress. A poll that cannot read the metrics
    is recorded and the watch goes on (one lost scrape is not a failed release).
    """
    watcher = Watcher(baseline, thresholds)
    started = clock()
    ends = started + seconds
    while True:
        left = ends - clock()
        if left > 0:
            sleep(min(interval, left))
        elapsed = clock() - started
        try:
            window, error = source.window(), ""
        except ScrapeError as exc:
            window, error = None, str(exc)
        stop = watcher.observe(elapsed, window, error)
        if on_sample is not None:
            on_sample(watcher.samples[-1])
        if stop or clock() >= ends:
            return watcher.result(clock() - started)


def watch_from_settings(
    settings: Settings,
    source: WindowSource,
    baseline: Window | None,
    *,
    on_sample: Callable[[Sample], None] | None = None,
) -> WatchResult:
    """WATCH_SECONDS long, polling every WATCH_INTERVAL seconds (default 10, at most a
    fifth of the window so short test windows still take several samples)."""
    seconds = float(settings.get("WATCH_SECONDS", "300"))
    interval = float(settings.get("WATCH_INTERVAL", "10"))
    interval = max(0.2, min(interval, seconds / 5 if seconds > 0 else interval))
    return run_watch(
        source,
        baseline,
        seconds=seconds,
        interval=interval,
        thresholds=Thresholds.from_settings(settings),
        on_sample=on_sample,
    )
