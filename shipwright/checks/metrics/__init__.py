"""Request metrics of a serving release: how much traffic, how many 5xx, how slow --
parsed (:mod:`.parse`), windowed (:mod:`.window`), fetched (:mod:`.sources`) and
judged (:mod:`.verdict`), one module each.

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

from shipwright.checks.metrics.parse import (
    DURATION_METRIC,
    EMPTY,
    PROBE_PATHS,
    REQUESTS_METRIC,
    ScrapeError,
    Snapshot,
    is_error,
    is_success,
    parse_metrics,
)
from shipwright.checks.metrics.sources import (
    DEFAULT_QUERIES,
    PrometheusSource,
    ScrapeSource,
    WindowSource,
    source_from_settings,
)
from shipwright.checks.metrics.verdict import (
    PASS,
    ROLLBACK,
    SEVERITY,
    WARN,
    Thresholds,
    Verdict,
    judge,
    spike,
)
from shipwright.checks.metrics.window import Window, delta, lifetime, quantile, restarted

__all__ = [
    "DEFAULT_QUERIES",
    "DURATION_METRIC",
    "EMPTY",
    "PASS",
    "PROBE_PATHS",
    "REQUESTS_METRIC",
    "ROLLBACK",
    "SEVERITY",
    "WARN",
    "PrometheusSource",
    "ScrapeError",
    "ScrapeSource",
    "Snapshot",
    "Thresholds",
    "Verdict",
    "Window",
    "WindowSource",
    "delta",
    "is_error",
    "is_success",
    "judge",
    "lifetime",
    "parse_metrics",
    "quantile",
    "restarted",
    "source_from_settings",
    "spike",
]
