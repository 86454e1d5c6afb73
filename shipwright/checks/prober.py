"""Measures what users see while traffic switches: steady, bounded GETs to the URLs it
is given, counting failed requests and how long they failed.

Two uses, one counter. The deploy flow probes the serving URL (``Prober(url)``) and
records the downtime: the summed length of the stretches in which requests failed. The
Compose-hosts tests and benchmarks/compose_deploy.py probe every host's nginx at once
(``Prober({"h1": "http://10.0.0.2:8080/version", ...}, rate=40)``).

A request fails when it gets no response, times out or answers a non-2xx status. One
thing is retried, as every HTTP client does for idempotent requests (RFC 9112 §9.3.1):
a reused keep-alive connection that the server closed before sending any byte (nginx
closes idle keep-alive connections when its old workers exit on reload). Those retries
are counted separately, never hidden.

Bounded: at most ``rate`` requests per second and ``max_requests`` requests per URL,
for at most ``max_seconds``. Only the URLs it is given, and never through a proxy (one
urllib3 connection pool per URL, connecting directly whatever HTTP(S)_PROXY says).
"""

from __future__ import annotations

import collections
import json
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import urllib3
from urllib3.exceptions import HTTPError, ProtocolError


@dataclass
class Tally:
    """What one URL answered."""

    ok: int = 0
    failed: int = 0
    keepalive_retries: int = 0
    last_ok: bool = False  # the last request succeeded (its connection was kept)
    downtime_seconds: float = 0.0  # summed length of the failing stretches
    versions: collections.Counter = field(default_factory=collections.Counter)
    errors: collections.Counter = field(default_factory=collections.Counter)

    @property
    def total(self) -> int:
        return self.ok + self.failed


@dataclass(frozen=True)
class _Url:
    https: bool
    host: str
    port: int
    path: str

    @classmethod
    def parse(cls, url: str) -> _Url:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"the prober needs an http(s) URL, not {url!r}")
        https = parts.scheme == "https"
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        return cls(https, parts.hostname, parts.port or (443 if https else 80), path)

    def pool(self, timeout: float) -> _Pool:
        """One keep-alive connection, no retries of its own (the prober decides)."""
        return _Pool(self, timeout)


class _Pool:
    """A one-connection urllib3 pool that counts how often it (re)connected."""

    def __init__(self, url: _Url, timeout: float):
        self.connects = 0
        pools = urllib3.HTTPSConnectionPool if url.https else urllib3.HTTPConnectionPool
        counter = self

        class Counting(pools.ConnectionCls):  # type: ignore[name-defined, misc]
            def connect(self) -> None:
                counter.connects += 1
                super().connect()

        self.pool = pools(url.host, url.port, maxsize=1, block=True, timeout=timeout, retries=False)
        self.pool.ConnectionCls = Counting
        self.path = url.path

    def get(self) -> urllib3.BaseHTTPResponse:
        return self.pool.urlopen("GET", self.path, redirect=False)

    def close(self) -> None:
        self.pool.close()


class Prober:
    """Start before the switch, stop after it: ``with Prober(url) as probe: ...``; then
    ``probe.failed``, ``probe.total``, ``probe.downtime_seconds`` (and ``probe.tallies``
    per name). ``stop()`` is idempotent and always called on exit, so nothing is sent
    after the hosts are torn down."""

    def __init__(
        self,
        urls: str | Mapping[str, str],
        *,
        rate: float = 20,
        timeout: float = 5.0,
        max_requests: int = 20_000,
        max_seconds: float = 1800.0,
    ):
        named = {"app": urls} if isinstance(urls, str) else dict(urls)
        self.urls = {name: _Url.parse(url) for name, url in named.items()}
        self.rate, self.timeout = rate, timeout
        self.max_requests, self.max_seconds = max_requests, max_seconds
        self.tallies = {name: Tally() for name in self.urls}
        self._paused: set[str] = set()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def __enter__(self) -> Prober:
        for name in self.urls:
            thread = threading.Thread(
                target=self._loop, args=(name,), name=f"prober-{name}", daemon=True
            )
            thread.start()
            self._threads.append(thread)
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=self.timeout + 5)

    def pause(self, name: str) -> None:
        """Stop probing one URL (its host is about to go away)."""
        self._paused.add(name)

    # -- totals ---------------------------------------------------------------------------
    @property
    def failed(self) -> int:
        return sum(t.failed for t in self.tallies.values())

    @property
    def total(self) -> int:
        return sum(t.total for t in self.tallies.values())

    @property
    def keepalive_retries(self) -> int:
        return sum(t.keepalive_retries for t in self.tallies.values())

    @property
    def downtime_seconds(self) -> float:
        """The longest any one URL failed in total (URLs fail in parallel, not in turn)."""
        return max((t.downtime_seconds for t in self.tallies.values()), default=0.0)

    def summary(self) -> str:
        return "; ".join(
            f"{n}: {t.ok} ok, {t.failed} failed {dict(t.errors)}, {t.keepalive_retries} keep-alive "
            f"retries, {t.downtime_seconds:.2f}s down, versions {dict(t.versions)}"
            for n, t in self.tallies.items()
        )

    # -- the loop ---------------------------------------------------------------------------
    def _loop(self, name: str) -> None:
        url, tally = self.urls[name], self.tallies[name]
        interval, began = 1.0 / self.rate, time.monotonic()
        pool = url.pool(self.timeout)
        failing_since: float | None = None
        while not self._stop.is_set() and name not in self._paused:
            if tally.total >= self.max_requests or time.monotonic() - began > self.max_seconds:
                break
            started = time.monotonic()
            ok = self._once(tally, pool, url)
            now = time.monotonic()
            if ok and failing_since is not None:
                tally.downtime_seconds += now - failing_since
                failing_since = None
            elif not ok and failing_since is None:
                failing_since = now
            self._stop.wait(max(0.0, interval - (now - started)))
        if failing_since is not None:
            tally.downtime_seconds += time.monotonic() - failing_since
        pool.close()

    def _once(self, tally: Tally, pool: _Pool, url: _Url) -> bool:
        """One request, plus at most one retry when a reused keep-alive connection was
        closed by the server before it answered; whether the request succeeded. A
        connection urllib3 finds closed before sending is replaced without a failed
        request, and counted the same way."""
        kept = tally.ok > 0 and tally.last_ok
        for attempt in (1, 2):
            opened = pool.connects
            try:
                response = pool.get()
                status, body = response.status, response.data
            except (HTTPError, OSError) as exc:
                reused = pool.connects == opened
                tally.last_ok = False
                if attempt == 1 and reused and isinstance(exc, ProtocolError):
                    tally.keepalive_retries += 1
                    continue
                cause = getattr(exc, "reason", None) or exc.__context__ or exc
                self._fail(tally, type(cause).__name__)
                return False
            if kept and attempt == 1 and pool.connects > opened:
                tally.keepalive_retries += 1  # the kept connection had been closed
            tally.last_ok = 200 <= status < 300
            if tally.last_ok:
                tally.ok += 1
                tally.versions[_version(body)] += 1
                return True
            self._fail(tally, f"HTTP {status}")
            return False
        return False

    @staticmethod
    def _fail(tally: Tally, why: str) -> None:
        tally.failed += 1
        tally.errors[why] += 1


def _version(body: bytes) -> str:
    """The ``version`` a JSON answer names (the sample app's /version), else "?"."""
    try:
        data = json.loads(body)
    except ValueError:
        return "?"
    return str(data.get("version", "?")) if isinstance(data, dict) else "?"
