"""A bounded load prober: steady GETs through each host's nginx while a deploy runs.

Why in the library: the integration tests, benchmarks/compose_deploy.py (and later
the deploy flow's downtime measurement) count failed requests the same way. A request
fails when it gets no response or a non-2xx status. One thing is retried, as every
HTTP client does for idempotent requests (RFC 9112 §9.3.1): a reused keep-alive
connection that the server closed before sending any byte (nginx closes idle
keep-alive connections when its old workers exit on reload). Those retries are
counted separately, never hidden.
"""

from __future__ import annotations

import collections
import http.client
import json
import threading
import time
from dataclasses import dataclass, field

STALE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)


@dataclass
class Tally:
    ok: int = 0
    failed: int = 0
    keepalive_retries: int = 0
    versions: collections.Counter = field(default_factory=collections.Counter)
    errors: collections.Counter = field(default_factory=collections.Counter)

    @property
    def total(self) -> int:
        return self.ok + self.failed


class Prober:
    """``with Prober({"h1": ("10.0.0.2", 80)}) as p: ...``; then ``p.tallies``.

    ``rate`` requests per second per host at most (bounded load); stop() is idempotent
    and always called on exit, so nothing is sent after the hosts are torn down.
    """

    def __init__(
        self, targets: dict[str, tuple[str, int]], rate: float = 40, path: str = "/version"
    ):
        self.targets, self.rate, self.path = targets, rate, path
        self.tallies = {name: Tally() for name in targets}
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def __enter__(self) -> Prober:
        for name, (host, port) in self.targets.items():
            thread = threading.Thread(target=self._loop, args=(name, host, port), daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=10)

    def pause(self, name: str) -> None:
        """Stop probing one host (it is about to go away)."""
        self.targets = {k: v for k, v in self.targets.items() if k != name}

    @property
    def failed(self) -> int:
        return sum(t.failed for t in self.tallies.values())

    @property
    def total(self) -> int:
        return sum(t.total for t in self.tallies.values())

    @property
    def keepalive_retries(self) -> int:
        return sum(t.keepalive_retries for t in self.tallies.values())

    def summary(self) -> str:
        return "; ".join(
            f"{n}: {t.ok} ok, {t.failed} failed {dict(t.errors)}, {t.keepalive_retries} keep-alive "
            f"retries, versions {dict(t.versions)}"
            for n, t in self.tallies.items()
        )

    def _loop(self, name: str, host: str, port: int) -> None:
        tally, interval = self.tallies[name], 1.0 / self.rate
        conn: http.client.HTTPConnection | None = None
        while not self._stop.is_set() and name in self.targets:
            started = time.monotonic()
            conn = self._once(tally, conn, host, port)
            self._stop.wait(max(0.0, interval - (time.monotonic() - started)))
        if conn is not None:
            conn.close()

    def _once(self, tally: Tally, conn, host: str, port: int):
        """One request (plus at most one retry on a stale keep-alive connection);
        returns the connection to reuse, or None."""
        for attempt in (1, 2):
            fresh = conn is None
            conn = conn or http.client.HTTPConnection(host, port, timeout=5)
            try:
                status, body = self._get(conn)
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                conn = None
                if attempt == 1 and not fresh and isinstance(exc, STALE):
                    tally.keepalive_retries += 1
                    continue
                self._fail(tally, type(exc).__name__)
                return None
            if 200 <= status < 300:
                tally.ok += 1
                try:
                    tally.versions[json.loads(body).get("version", "?")] += 1
                except ValueError:
                    tally.versions["?"] += 1
            else:
                self._fail(tally, f"HTTP {status}")
            return conn
        return None

    def _get(self, conn: http.client.HTTPConnection) -> tuple[int, bytes]:
        conn.request("GET", self.path)
        response = conn.getresponse()
        return response.status, response.read()

    @staticmethod
    def _fail(tally: Tally, why: str) -> None:
        tally.failed += 1
        tally.errors[why] += 1
