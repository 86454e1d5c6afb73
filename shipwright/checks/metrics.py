"""Request metrics of a serving release: how much traffic, how many 5xx, how slow.

Two sources give the same :class:`Window` (what happened between two moments):

* :class:`ScrapeSource` reads the app's own ``/metrics`` (Prometheus text) and
  subtracts two scrapes -- counters only ever grow, so the difference is what
  happened in between. A counter that went down means the process restarted (the
  deploy replaced it), and then the new value *is* the difference.
* :class:`PrometheusSource` asks a Prometheus server (``/api/v1/query``) with
  configurable PromQL, for fleets where one URL reaches many instances.

:func:`judge` applies the specification's limits: error rate < ERROR_RATE_MAX passes
and > ERROR_RATE_ROLLBACK rolls back; p95 < P95_MAX_MS; the error spike against the
pre-deploy baseline passes under 2x and is critical over 5x.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from string import Template
from typing import Any, Protocol
from urllib.parse import urlencode

from prometheus_client.parser import text_string_to_metric_families

from shipwright.domain import Check, Checks
from shipwright.httpcall import join, request
from shipwright.settings import Settings

REQUESTS_METRIC = "http_requests_total"
DURATION_METRIC = "http_request_duration_seconds"
#: Probe and ops paths: the platform's own traffic says nothing about users' errors.
PROBE_PATHS = frozenset({"/health", "/livez", "/readyz", "/metrics", "/version"})
PATH_LABELS = ("path", "route", "handler", "endpoint", "uri")
STATUS_LABELS = ("status", "code", "status_code")
INF = math.inf

PASS, WARN, ROLLBACK = "pass", "warn", "rollback"
SEVERITY = {PASS: 0, WARN: 1, ROLLBACK: 2}


class ScrapeError(Exception):
    """The metrics could not be read (no answer, not 200, or not Prometheus text)."""


# -- parsing -------------------------------------------------------------------------
@dataclass(frozen=True)
class Snapshot:
    """One scrape: request counters per label set, latency buckets, process identity."""

    requests: Mapping[tuple[tuple[str, str], ...], float] = field(default_factory=dict)
    buckets: Mapping[float, float] = field(default_factory=dict)  # le -> cumulative count
    by_path: bool = False  # requests carry a path label, so probes were left out
    uptime: float | None = None  # seconds the process has run, when it says
    taken_at: float = 0.0  # time.monotonic() of the scrape


EMPTY = Snapshot()


def parse_metrics(
    text: str,
    *,
    requests_metric: str = REQUESTS_METRIC,
    duration_metric: str = DURATION_METRIC,
    exclude_paths: Iterable[str] = PROBE_PATHS,
    taken_at: float = 0.0,
) -> Snapshot:
    """Prometheus text -> Snapshot. Series labelled with a probe path are left out; when
    the metrics carry no path label every request counts (and ``by_path`` is False)."""
    excluded = frozenset(exclude_paths)
    requests: dict[tuple[tuple[str, str], ...], float] = {}
    buckets: dict[float, float] = {}
    by_path = False
    uptime = None
    start_time = None
    try:
        families = list(text_string_to_metric_families(text))
    except (ValueError, IndexError, KeyError, TypeError) as exc:
        raise ScrapeError(f"not Prometheus text: {exc}") from None
    for family in families:
        for sample in family.samples:
            labels = sample.labels
            path = next((labels[k] for k in PATH_LABELS if k in labels), None)
            if sample.name == requests_metric:
                by_path = by_path or path is not None
                if path in excluded:
                    continue
                key = tuple(sorted(labels.items()))
                requests[key] = requests.get(key, 0.0) + sample.value
            elif sample.name == f"{duration_metric}_bucket" and path not in excluded:
                le = float(labels.get("le", "+Inf"))
                buckets[le] = buckets.get(le, 0.0) + sample.value
            elif sample.name == "app_uptime_seconds":
                uptime = sample.value
            elif sample.name == "process_start_time_seconds":
                start_time = sample.value
    if uptime is None and start_time is not None:
        uptime = time.time() - start_time
    return Snapshot(requests, buckets, by_path, uptime, taken_at)


def is_error(labels: tuple[tuple[str, str], ...]) -> bool:
    status = next((v for k, v in labels if k in STATUS_LABELS), "")
    return status.startswith("5")


def is_success(labels: tuple[tuple[str, str], ...]) -> bool:
    status = next((v for k, v in labels if k in STATUS_LABELS), "")
    return status.startswith("2")


# -- windows ---------------------------------------------------------------------------
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


# -- sources ---------------------------------------------------------------------------
class WindowSource(Protocol):
    """Where windows come from; the watch only needs these three calls."""

    def baseline(self) -> Window: ...  # before the switch: how the old release did
    def begin(self) -> None: ...  # mark the start of the watch window
    def window(self) -> Window: ...  # everything since begin()


class ScrapeSource:
    """The app's /metrics endpoint, scraped directly."""

    def __init__(
        self,
        base_url: str,
        path: str = "/metrics",
        *,
        timeout: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.url, self.timeout, self.clock = join(base_url, path), timeout, clock
        self._start: Snapshot | None = None
        self._last: Snapshot | None = None
        self._own = 0  # our scrapes the current process has counted since begin()

    def scrape(self) -> Snapshot:
        answer = request(
            "GET", self.url, timeout=self.timeout, headers={"Accept": "text/plain; version=0.0.4"}
        )
        if answer.status != 200:
            raise ScrapeError(f"GET {self.url}: {answer.describe()}")
        return parse_metrics(answer.body, taken_at=self.clock())

    def baseline(self) -> Window:
        """The old release's whole life so far (one scrape); also begins the window, so
        what the new process counts from its first request on is in the watch."""
        snapshot = self.scrape()
        self._start = self._last = snapshot
        self._own = 0
        return lifetime(snapshot)

    def begin(self) -> None:
        self._start = self._last = self.scrape()
        self._own = 0

    def window(self) -> Window:
        if self._start is None:
            self.begin()
        snapshot = self.scrape()
        assert self._start is not None and self._last is not None
        # A restart since the last scrape: the new process has seen none of our scrapes.
        self._own = 0 if restarted(self._last, snapshot) else self._own + 1
        self._last = snapshot
        return delta(self._start, snapshot, own_requests=self._own)


DEFAULT_QUERIES = {
    "requests": "sum(increase(http_requests_total[$window]))",
    "error_rate": (
        'sum(rate(http_requests_total{status=~"5.."}[$window]))'
        " / sum(rate(http_requests_total[$window]))"
    ),
    "p95_seconds": (
        "histogram_quantile(0.95,"
        " sum by (le) (rate(http_request_duration_seconds_bucket[$window])))"
    ),
}


class PrometheusSource:
    """A Prometheus server's instant-query API. Each query may use ``$window`` (a PromQL
    range such as ``300s``): the baseline uses ``baseline_window`` before the switch,
    the watch the time since begin(). An empty or NaN answer means "no data"."""

    def __init__(
        self,
        url: str,
        queries: Mapping[str, str] | None = None,
        *,
        baseline_window: str = "1h",
        timeout: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.url = join(url, "/api/v1/query")
        self.queries = {**DEFAULT_QUERIES, **{k: v for k, v in (queries or {}).items() if v}}
        self.baseline_window, self.timeout, self.clock = baseline_window, timeout, clock
        self._began: float | None = None

    def query(self, promql: str) -> float | None:
        answer = request("GET", f"{self.url}?{urlencode({'query': promql})}", timeout=self.timeout)
        if answer.status != 200:
            raise ScrapeError(f"Prometheus query failed: {answer.describe()}")
        try:
            data = answer.json()
            if data.get("status") != "success":
                raise ScrapeError(f"Prometheus: {data.get('error', 'query failed')}")
            result = data["data"]["result"]
            kind = data["data"].get("resultType")
        except (ValueError, KeyError, TypeError, AttributeError):
            raise ScrapeError("Prometheus answered something that is not a query result") from None
        if kind == "scalar":
            value = float(result[1])
        elif not result:
            return None
        else:
            value = sum(float(item["value"][1]) for item in result)
        return None if math.isnan(value) or math.isinf(value) else value

    def measure(self, window: str, seconds: float = 0.0) -> Window:
        filled = {k: Template(q).safe_substitute(window=window) for k, q in self.queries.items()}
        requests = self.query(filled["requests"]) or 0.0
        rate = self.query(filled["error_rate"]) or 0.0
        p95 = self.query(filled["p95_seconds"])
        return Window(requests, rate * requests, {}, seconds, p95_seconds=p95, by_path=True)

    def baseline(self) -> Window:
        self.begin()
        return self.measure(self.baseline_window)

    def begin(self) -> None:
        self._began = self.clock()

    def window(self) -> Window:
        if self._began is None:
            self.begin()
        assert self._began is not None
        elapsed = max(1.0, self.clock() - self._began)
        return self.measure(f"{math.ceil(elapsed)}s", elapsed)


def source_from_settings(settings: Settings, base_url: str | None = None) -> WindowSource:
    """PROMETHEUS_URL (with PROMQL_REQUESTS / PROMQL_ERROR_RATE / PROMQL_P95 overrides)
    when set, else the app's own METRICS_PATH (default /metrics) on APP_URL."""
    prometheus = settings.get("PROMETHEUS_URL")
    if prometheus:
        queries = {
            "requests": settings.get("PROMQL_REQUESTS", ""),
            "error_rate": settings.get("PROMQL_ERROR_RATE", ""),
            "p95_seconds": settings.get("PROMQL_P95", ""),
        }
        return PrometheusSource(prometheus, queries)
    return ScrapeSource(base_url or settings["APP_URL"], settings.get("METRICS_PATH", "/metrics"))


# -- the verdict -----------------------------------------------------------------------
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
            "verdict": self.verdict,
            "error_rate": None if self.error_rate is None else round(self.error_rate, 5),
            "p95_ms": None if self.p95_ms is None else round(self.p95_ms, 1),
            "spike": None if self.spike is None else round(self.spike, 2),
            "rules": [{"rule": r, "level": lv, "detail": d} for r, lv, d in self.rules],
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
