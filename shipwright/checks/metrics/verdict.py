"""The specification's post-deployment limits applied to a window: error rate < 1 %
passes and > 5 % rolls back; p95 < 500 ms; the error spike against the pre-deploy
baseline passes under 2x and is critical over 5x."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shipwright.checks.metrics.window import Window
from shipwright.domain import Check, Checks
from shipwright.settings import Settings

PASS, WARN, ROLLBACK = "pass", "warn", "rollback"
SEVERITY = {PASS: 0, WARN: 1, ROLLBACK: 2}


@dataclass(frozen=True)
class Thresholds:
    error_rate_max: float = 0.01  # below: passes (spec: "< 1%")
    error_rate_rollback: float = 0.05  # above: roll back (spec: "If errors > 5%")
    p95_max_ms: float = 500.0  # spec: "p95 < 500ms"
    spike_target: float = 2.0  # spec's Deployment Metrics: "< 2x baseline"
    spike_critical: float = 5.0  # "< 5x baseline"
    min_requests: int = 20  # fewer: the rates are noise, never a reason to roll back
    #: The lowest baseline a spike is measured against (default: error_rate_max /
    #: spike_target). Why: after an error-free baseline any error would be an "infinite"
    #: spike; with this floor the spike rule starts where the error-rate rule does.
    spike_floor: float | None = None

    @property
    def floor(self) -> float:
        if self.spike_floor is not None:
            return self.spike_floor
        return self.error_rate_max / self.spike_target if self.error_rate_max > 0 else 1e-6

    @classmethod
    def from_settings(cls, settings: Settings) -> Thresholds:
        def number(key: str, default: float) -> float:
            return float(settings.get(key, str(default)))

        return cls(
            error_rate_max=number("ERROR_RATE_MAX", cls.error_rate_max),
            error_rate_rollback=number("ERROR_RATE_ROLLBACK", cls.error_rate_rollback),
            p95_max_ms=number("P95_MAX_MS", cls.p95_max_ms),
            min_requests=int(number("WATCH_MIN_REQUESTS", cls.min_requests)),
        )


def spike(window: Window, baseline: Window | None, thresholds: Thresholds) -> float | None:
    """Error rate now / error rate before, the baseline floored at ``Thresholds.floor``
    (and ignored when it saw fewer than ``min_requests``). None when nothing was measured."""
    rate = window.error_rate
    if rate is None:
        return None
    before = 0.0
    if baseline is not None and baseline.requests >= thresholds.min_requests:
        before = baseline.error_rate or 0.0
    return rate / max(before, thresholds.floor)


@dataclass
class Verdict:
    """The worst level wins; each rule keeps its own level and words for the report."""

    verdict: str  # pass | warn | rollback
    rules: list[tuple[str, str, str]] = field(default_factory=list)  # (rule, level, detail)
    error_rate: float | None = None
    p95_ms: float | None = None
    spike: float | None = None

    @property
    def reasons(self) -> list[str]:
        return [f"{rule}: {detail}" for rule, level, detail in self.rules if level != PASS]

    @property
    def checks(self) -> Checks:
        """✔ for pass, ✔ with "warning:" for warn, ✘ only for what rolls back."""
        return Checks(
            [
                Check(rule, level != ROLLBACK, ("warning: " if level == WARN else "") + detail)
                for rule, level, detail in self.rules
            ]
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            **judged_dict(self.verdict, self.error_rate, self.p95_ms, self.spike),
            "rules": [{"rule": r, "level": lv, "detail": d} for r, lv, d in self.rules],
        }


def judged_dict(
    verdict: str, error_rate: float | None, p95_ms: float | None, spike: float | None
) -> dict[str, Any]:
    """A verdict and its three figures, rounded the way reports and the ledger show them."""

    def rounded(value: float | None, digits: int) -> float | None:
        return None if value is None else round(value, digits)

    return {
        "verdict": verdict,
        "error_rate": rounded(error_rate, 5),
        "p95_ms": rounded(p95_ms, 1),
        "spike": rounded(spike, 2),
    }


def judge(
    window: Window, baseline: Window | None = None, thresholds: Thresholds | None = None
) -> Verdict:
    """The specification's post-deployment limits applied to one window.

    Fewer than ``min_requests`` requests never roll back (a 1-of-3 error rate is noise);
    a spike beyond 5x rolls back only when the error rate is also above the passing
    rate, so a jump from 0.01% to 0.1% is reported, not acted on.
    """
    t = thresholds or Thresholds()
    rate, p95, ratio = window.error_rate, window.p95_ms, spike(window, baseline, t)
    enough = window.requests >= t.min_requests
    verdict = Verdict(PASS, [], rate, p95, ratio)

    def add(rule: str, level: str, detail: str) -> None:
        verdict.rules.append((rule, level, detail))
        if SEVERITY[level] > SEVERITY[verdict.verdict]:
            verdict.verdict = level

    n = f"{window.requests:.0f} requests"
    if rate is None:
        add("error rate", WARN, "no requests in the window: nothing to judge")
    elif rate == 0 or rate < t.error_rate_max:
        add("error rate", PASS, f"{rate:.2%} < {t.error_rate_max:.2%} ({n})")
    elif not enough:
        add("error rate", WARN, f"{rate:.2%} but only {n} (< {t.min_requests}): not judged")
    elif rate > t.error_rate_rollback:
        add("error rate", ROLLBACK, f"{rate:.2%} > {t.error_rate_rollback:.2%} ({n})")
    else:
        add("error rate", WARN, f"{rate:.2%} ≥ {t.error_rate_max:.2%} ({n})")

    if p95 is not None and p95 < t.p95_max_ms:
        add("p95 latency", PASS, f"{p95:.0f} ms < {t.p95_max_ms:.0f} ms")
    elif p95 is not None:
        add("p95 latency", WARN, f"{p95:.0f} ms ≥ {t.p95_max_ms:.0f} ms ({n})")
    elif window.requests > 0:
        add("p95 latency", WARN, "no latency histogram in the window")

    if ratio is None:
        pass
    elif ratio < t.spike_target:
        add("error spike", PASS, f"{ratio:.1f}x baseline < {t.spike_target:.0f}x")
    elif ratio > t.spike_critical and enough and rate is not None and rate >= t.error_rate_max:
        add("error spike", ROLLBACK, f"{ratio:.1f}x baseline > {t.spike_critical:.0f}x (critical)")
    else:
        add("error spike", WARN, f"{ratio:.1f}x baseline ≥ {t.spike_target:.0f}x")
    return verdict
