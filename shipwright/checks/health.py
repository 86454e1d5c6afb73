"""Health endpoints: is what now serves alive and ready?

Why retries until a deadline: right after a switch the new release may still be
starting (readiness answers 503 until its dependencies answer), so one failed probe
proves nothing -- but waiting forever hides a broken release. Every path shares one
deadline; each attempt has a short timeout so a hanging endpoint cannot eat it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from shipwright.domain import Check, Checks
from shipwright.httpcall import Response, join, request
from shipwright.retry import poll
from shipwright.settings import Settings

DEFAULT_PATHS = ("/health", "/livez", "/readyz")
DEFAULT_DEADLINE = 60.0
DEFAULT_INTERVAL = 1.0
DEFAULT_TIMEOUT = 3.0


def check_health(
    base_url: str,
    paths: Sequence[str] = DEFAULT_PATHS,
    *,
    deadline: float = DEFAULT_DEADLINE,
    interval: float = DEFAULT_INTERVAL,
    timeout: float = DEFAULT_TIMEOUT,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Checks:
    """GET each path until it answers 2xx or ``deadline`` seconds (shared) have passed.

    One Check per path: ``GET /readyz`` ✔ "200 in 4 ms (2 tries)" or ✘ "HTTP 503:
    {...} after 12 tries in 30 s" -- the last answer says why it is not ready.
    """
    ends = clock() + deadline
    checks = Checks()
    for path in paths:
        checks.items.append(_probe(base_url, path, ends, interval, timeout, clock, sleep))
    return checks


def _probe(base_url, path, ends, interval, timeout, clock, sleep) -> Check:
    url = join(base_url, path)

    def get() -> Response:
        return request("GET", url, timeout=max(0.2, min(timeout, ends - clock())))

    polled = poll(
        get,
        timeout=max(0.0, ends - clock()),
        done=lambda answer: answer.ok,
        interval=interval,
        clock=clock,
        sleep=sleep,
    )
    answer = polled.value
    assert answer is not None  # request() never raises
    if polled.ok:
        again = f" ({polled.tries} tries)" if polled.tries > 1 else ""
        return Check(f"GET {path}", True, f"{answer.status} in {answer.elapsed_ms:.0f} ms{again}")
    detail = f"{answer.describe()} after {polled.tries} tries in {polled.seconds:.0f} s"
    return Check(f"GET {path}", False, detail)


def health_from_settings(
    settings: Settings, base_url: str | None = None, *, deadline: float | None = None
) -> Checks:
    """HEALTH_PATHS on APP_URL (or ``base_url``, e.g. one host before it joins the pool);
    waiting up to HEALTH_DEADLINE seconds."""
    paths = settings.items_list("HEALTH_PATHS") or list(DEFAULT_PATHS)
    wait = (
        deadline
        if deadline is not None
        else float(settings.get("HEALTH_DEADLINE", str(DEFAULT_DEADLINE)))
    )
    return check_health(base_url or settings["APP_URL"], paths, deadline=wait)
