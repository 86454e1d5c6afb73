"""What happened between two moments (:class:`Window`): the difference of two scrapes
(counters only grow; one that went down means the process restarted, and then the new
value *is* the difference), and the p95 from histogram buckets."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from shipwright.checks.metrics.parse import EMPTY, Snapshot, is_error, is_success

INF = math.inf


def quantile(buckets: Mapping[float, float], q: float = 0.95) -> float | None:
    """The q-quantile from cumulative histogram buckets (le -> count), in the bucket's
    unit, interpolating linearly inside the bucket as Prometheus' histogram_quantile
    does. None without observations; the highest finite bound when the rank falls in
    the +Inf bucket (there is no upper edge to interpolate to)."""
    bounds = sorted(buckets)
    if not bounds:
        return None
    total = buckets[bounds[-1]] if bounds[-1] == INF else max(buckets.values())
    if total <= 0:
        return None
    rank = q * total
    lower, below = 0.0, 0.0
    for le in bounds:
        count = buckets[le]
        if count >= rank:
            if le == INF:
                finite = [b for b in bounds if b != INF]
                return finite[-1] if finite else None
            inside = count - below
            if inside <= 0:
                return le
            return lower + (le - lower) * (rank - below) / inside
        lower, below = le, count
    return bounds[-1] if bounds[-1] != INF else lower


@dataclass(frozen=True)
class Window:
    """What happened between two moments: requests, 5xx among them, latency buckets."""

    requests: float = 0.0
    errors: float = 0.0
    buckets: Mapping[float, float] = field(default_factory=dict)
    seconds: float = 0.0
    p95_seconds: float | None = None  # from buckets when not given (Prometheus gives it)
    by_path: bool = False

    def __post_init__(self) -> None:
        if self.p95_seconds is None and self.buckets:
            object.__setattr__(self, "p95_seconds", quantile(self.buckets, 0.95))

    @property
    def error_rate(self) -> float | None:
        return self.errors / self.requests if self.requests > 0 else None

    @property
    def p95_ms(self) -> float | None:
        return None if self.p95_seconds is None else self.p95_seconds * 1000.0

    def minus(self, earlier: Window) -> Window:
        """The part of this (cumulative) window after ``earlier``: the latest interval."""
        buckets = {le: max(0.0, c - earlier.buckets.get(le, 0.0)) for le, c in self.buckets.items()}
        return Window(
            max(0.0, self.requests - earlier.requests),
            max(0.0, self.errors - earlier.errors),
            buckets,
            max(0.0, self.seconds - earlier.seconds),
            by_path=self.by_path,
        )

    def to_dict(self) -> dict[str, Any]:
        rate, p95 = self.error_rate, self.p95_ms
        return {
            "requests": round(self.requests),
            "errors": round(self.errors),
            "error_rate": None if rate is None else round(rate, 5),
            "p95_ms": None if p95 is None else round(p95, 1),
            "seconds": round(self.seconds, 1),
            "probes_excluded": self.by_path,
        }


def restarted(before: Snapshot, after: Snapshot) -> bool:
    """Did the process behind the metrics restart between the two scrapes?"""
    if before.uptime is not None and after.uptime is not None and after.uptime < before.uptime:
        return True
    if any(after.requests.get(k, 0.0) < v for k, v in before.requests.items()):
        return True
    return any(after.buckets.get(le, 0.0) < c for le, c in before.buckets.items())


def delta(before: Snapshot, after: Snapshot, *, own_requests: int = 0) -> Window:
    """What ``after`` counted beyond ``before``. After a restart everything ``after``
    counted is new. ``own_requests`` (our own earlier scrapes, answered 2xx) are taken
    off when the metrics cannot tell paths apart."""
    base = EMPTY if restarted(before, after) else before
    requests = errors = successes = 0.0
    for key, value in after.requests.items():
        grew = value - base.requests.get(key, 0.0)
        requests += grew
        if is_error(key):
            errors += grew
        elif is_success(key):
            successes += grew
    if own_requests and not after.by_path:
        requests -= min(float(own_requests), successes)
    buckets = {le: c - base.buckets.get(le, 0.0) for le, c in after.buckets.items()}
    seconds = after.taken_at - before.taken_at if before.taken_at else 0.0
    return Window(max(0.0, requests), errors, buckets, max(0.0, seconds), by_path=after.by_path)


def lifetime(snapshot: Snapshot) -> Window:
    """Everything the process counted since it started: the widest baseline a single
    scrape can give."""
    window = delta(EMPTY, snapshot)
    return Window(
        window.requests,
        window.errors,
        window.buckets,
        snapshot.uptime or 0.0,
        by_path=window.by_path,
    )
