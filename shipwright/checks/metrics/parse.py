"""Prometheus text from the app's /metrics, parsed into a :class:`Snapshot`: request
counters per label set, latency buckets, process identity -- leaving out the probe and
ops paths (the platform's own traffic says nothing about users' errors)."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from prometheus_client.parser import text_string_to_metric_families

REQUESTS_METRIC = "http_requests_total"
DURATION_METRIC = "http_request_duration_seconds"
#: Probe and ops paths: the platform's own traffic says nothing about users' errors.
PROBE_PATHS = frozenset({"/health", "/livez", "/readyz", "/metrics", "/version"})
PATH_LABELS = ("path", "route", "handler", "endpoint", "uri")
STATUS_LABELS = ("status", "code", "status_code")


class ScrapeError(Exception):
    """The metrics could not be read (no answer, not 200, or not Prometheus text)."""


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
