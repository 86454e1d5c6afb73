"""Where the seconds of one run go: consecutive laps from the process's start to its exit.

Why laps and not timers around chosen steps: a lap is the time since the previous lap,
so the laps always add up to the wall time, and a slow step nobody thought of timing
shows up (as ``flow``, the time between named phases) instead of hiding in a gap.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator, Mapping

#: The lap that collects the time between two named phases (bookkeeping, imports …).
BETWEEN = "flow"


def process_started() -> float:
    """The ``time.monotonic()`` at which this process started (Linux: from /proc), so
    the interpreter's own start-up and imports are counted; elsewhere: now."""
    try:
        with open("/proc/self/stat", encoding="ascii") as stat:
            ticks = int(stat.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/uptime", encoding="ascii") as uptime:
            since_boot = float(uptime.read().split()[0])
    except (OSError, ValueError, IndexError):
        return time.monotonic()
    age = since_boot - ticks / os.sysconf("SC_CLK_TCK")
    return time.monotonic() - max(0.0, age)


class Stopwatch:
    """``with clock.phase("verify"): ...``; ``clock.phases`` add up to ``clock.seconds``."""

    def __init__(self, started: float | None = None):
        self.started = self._mark = time.monotonic() if started is None else started
        self._laps: dict[str, float] = {}

    def lap(self, name: str) -> None:
        """Book the time since the previous lap as ``name``."""
        now = time.monotonic()
        self._laps[name] = self._laps.get(name, 0.0) + max(0.0, now - self._mark)
        self._mark = now

    @contextlib.contextmanager
    def phase(self, name: str) -> Iterator[None]:
        self.lap(BETWEEN)
        try:
            yield
        finally:
            self.lap(name)

    def split(self, name: str, parts: Mapping[str, float]) -> None:
        """Book the time since the previous lap as ``parts`` (a target's own phases,
        measured inside it) and the rest of it as ``name``."""
        now = time.monotonic()
        rest = now - self._mark
        for part, seconds in parts.items():
            self._laps[part] = self._laps.get(part, 0.0) + seconds
            rest -= seconds
        self._laps[name] = self._laps.get(name, 0.0) + max(0.0, rest)
        self._mark = now

    @property
    def seconds(self) -> float:
        """Wall time from the start to the last lap."""
        return self._mark - self.started

    @property
    def phases(self) -> dict[str, float]:
        return {name: round(seconds, 3) for name, seconds in self._laps.items()}
