"""Where windows come from: the app's own /metrics scraped twice (:class:`ScrapeSource`),
or a Prometheus server's query API with configurable PromQL (:class:`PrometheusSource`)
for fleets where one URL reaches many instances."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from string import Template
from typing import Protocol
from urllib.parse import urlencode

from shipwright.checks.metrics.parse import ScrapeError, Snapshot, parse_metrics
from shipwright.checks.metrics.window import Window, delta, lifetime, restarted
from shipwright.httpcall import join, request
from shipwright.settings import Settings


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
