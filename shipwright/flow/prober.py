"""Measures downtime the way a user sees it: requests through the serving URL while
traffic switches. Bounded in count and time; only the URL it is given."""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field


@dataclass
class ProbeReport:
    sent: int = 0
    failed: int = 0
    downtime_seconds: float = 0.0  # summed length of the failing stretches
    errors: list[str] = field(default_factory=list)


class Prober:
    """Start before the switch, stop after it: ``with Prober(url) as probe: ...``."""

    def __init__(
        self,
        url: str,
        *,
        interval: float = 0.05,
        timeout: float = 2.0,
        max_requests: int = 20_000,
        max_seconds: float = 1800.0,
    ):
        self.url, self.interval, self.timeout = url, interval, timeout
        self.max_requests, self.max_seconds = max_requests, max_seconds
        self.report = ProbeReport()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="prober", daemon=True)

    def __enter__(self) -> Prober:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=self.timeout + 5)

    def _ok(self) -> tuple[bool, str]:
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(self.url, timeout=self.timeout) as response:
                return 200 <= response.status < 400, f"HTTP {response.status}"
        except urllib.error.HTTPError as exc:
            return False, f"HTTP {exc.code}"
        except OSError as exc:
            return False, type(exc).__name__

    def _run(self) -> None:
        started = time.monotonic()
        failing_since: float | None = None
        report = self.report
        while not self._stop.is_set() and report.sent < self.max_requests:
            if time.monotonic() - started > self.max_seconds:
                break
            ok, why = self._ok()
            now = time.monotonic()
            report.sent += 1
            if ok and failing_since is not None:
                report.downtime_seconds += now - failing_since
                failing_since = None
            elif not ok:
                report.failed += 1
                if len(report.errors) < 20:
                    report.errors.append(why)
                failing_since = now if failing_since is None else failing_since
            self._stop.wait(self.interval)
        if failing_since is not None:
            report.downtime_seconds += time.monotonic() - failing_since
