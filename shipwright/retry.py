"""The one way this project waits and retries: :func:`poll` until something holds or a
deadline passes, :func:`retry` a call that fails transiently.

Why one helper: health probes, readiness of local services, registry pushes, the
machine's engine and registry, every target's "wait until it settles" all wait the same
way -- bounded, with the last answer kept so a timeout can say *why* -- and tests inject
``clock``/``sleep`` instead of waiting for real.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass
class Polled(Generic[T]):
    """How a poll ended: ``ok`` when ``done`` held; the last value (or error) either way."""

    ok: bool
    value: T | None
    tries: int
    seconds: float
    error: BaseException | None = None


def poll(
    probe: Callable[[], T],
    *,
    timeout: float,
    done: Callable[[T], bool] = bool,
    interval: float = 1.0,
    growth: float = 1.0,
    max_interval: float | None = None,
    fatal: tuple[type[BaseException], ...] = (),
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Polled[T]:
    """Call ``probe`` until ``done(value)`` or ``timeout`` seconds have passed (it runs
    at least once). An exception of a ``fatal`` type is raised at once; any other counts
    as "not yet" and is kept as ``error``. The wait between tries starts at ``interval``
    and grows by ``growth`` up to ``max_interval``, never past the deadline."""
    started = clock()
    ends = started + timeout
    tries, value, error = 0, None, None
    while True:
        tries += 1
        try:
            value, error = probe(), None
            if done(value):
                return Polled(True, value, tries, clock() - started)
        except fatal:
            raise
        except Exception as exc:  # noqa: BLE001 - "not yet"; kept for the caller's message
            error = exc
        left = ends - clock()
        if left <= 0:
            return Polled(False, value, tries, clock() - started, error)
        sleep(min(interval, left))
        interval = interval * growth
        if max_interval is not None:
            interval = min(interval, max_interval)


def retry(
    call: Callable[[], T],
    *,
    retry_on: tuple[type[BaseException], ...],
    attempts: int,
    backoff: float,
    on_retry: Callable[[BaseException, int, float], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """``call()``, retried on ``retry_on`` up to ``attempts`` times in all, waiting
    ``backoff``, 2×``backoff`` … between; the last failure is raised."""
    for attempt in range(1, attempts + 1):
        try:
            return call()
        except retry_on as exc:
            if attempt == attempts:
                raise
            delay = backoff * 2 ** (attempt - 1)
            if on_retry is not None:
                on_retry(exc, attempt, delay)
            sleep(delay)
    raise ValueError("attempts must be at least 1")
