"""The one HTTP client of the project (urllib3): health checks, smoke tests, metrics,
the prober, Slack, Sentry and the machine's registry all send through it.

Why urllib3: it is already installed with the docker SDK and botocore, pools
connections (the prober and the watch poll the same host many times), and its
timeouts are per connect and per read. Why :func:`request` never raises: a health
probe that cannot connect, or a Slack webhook answering 500, is an answer to report,
not a crash -- callers turn :class:`Response` into ✔/✘ lines. Loopback URLs never go
through a proxy (a proxy cannot reach this machine's 127.0.0.1); other URLs honour the
usual *_proxy variables.
"""

from __future__ import annotations

import functools
import json
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import urllib3

from shipwright import __version__
from shipwright.redact import REDACTOR

USER_AGENT = f"shipwright/{__version__}"
#: How much of a body is kept: enough for any check or error message, bounded for
#: a misbehaving server.
MAX_BODY = 1 << 20
LOOPBACK = ("127.0.0.1", "localhost", "::1", "[::1]")


@dataclass
class Response:
    """What came back: a status (0 when no HTTP answer arrived), body and timing."""

    status: int
    body: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    elapsed_ms: float = 0.0
    error: str = ""  # why there is no HTTP answer (refused, timed out, ...)

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def json(self) -> Any:
        return json.loads(self.body)

    def describe(self) -> str:
        """One redacted phrase for a ✘ line: 'HTTP 503: {...}' or 'connection refused'."""
        if self.status == 0:
            return REDACTOR.redact(self.error or "no response")
        snippet = " ".join(self.body.split())[:200]
        return REDACTOR.redact(f"HTTP {self.status}" + (f": {snippet}" if snippet else ""))


#: One connection pool manager per proxy (None: direct), kept alive across requests.
_MANAGERS: dict[str | None, urllib3.PoolManager] = {}
_MANAGERS_LOCK = threading.Lock()


def _manager(proxy: str | None) -> urllib3.PoolManager:
    with _MANAGERS_LOCK:
        if proxy not in _MANAGERS:
            kind = functools.partial(urllib3.ProxyManager, proxy) if proxy else urllib3.PoolManager
            _MANAGERS[proxy] = kind(num_pools=32, maxsize=8, retries=False)
        return _MANAGERS[proxy]


def _direct() -> urllib3.PoolManager:
    return _manager(None)


def _proxied(proxy: str) -> urllib3.ProxyManager:
    return _manager(proxy)  # type: ignore[return-value]


def drop_connections() -> None:
    """Close every kept-alive connection. After traffic moves, a connection opened
    before may still reach the old release (a proxy's old worker answers what it has
    in flight): checks of what serves now must start on new ones."""
    with _MANAGERS_LOCK:
        managers = list(_MANAGERS.values())
        _MANAGERS.clear()
    for manager in managers:
        manager.clear()


def manager_for(url: str) -> urllib3.PoolManager:
    """Direct for loopback and no_proxy hosts, else the environment's proxy if any."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if host in LOOPBACK or urllib.request.proxy_bypass(host):
        return _direct()
    proxy = urllib.request.getproxies().get(parts.scheme)
    return _proxied(proxy) if proxy else _direct()


def request(
    method: str,
    url: str,
    *,
    json_body: Any = None,
    data: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 5.0,
    direct: bool = False,
) -> Response:
    """Send one request; never raises for network or HTTP errors. ``direct``: never
    through a proxy, whatever the environment says (test hosts, this machine)."""
    all_headers = {"User-Agent": USER_AGENT, "Accept": "*/*", **(headers or {})}
    if json_body is not None:
        data = json.dumps(json_body).encode("utf-8")
        all_headers.setdefault("Content-Type", "application/json")
    started = time.monotonic()
    try:
        manager = _direct() if direct else manager_for(url)
        answer = manager.request(
            method.upper(),
            url,
            body=data,
            headers=all_headers,
            timeout=urllib3.Timeout(connect=timeout, read=timeout),
            redirect=False,
            preload_content=False,
        )
        try:
            body = answer.read(MAX_BODY)
        finally:
            answer.release_conn()
    except (urllib3.exceptions.HTTPError, OSError, ValueError) as exc:
        return Response(0, elapsed_ms=_ms(started), error=reason(exc))
    return Response(
        answer.status, body.decode("utf-8", "replace"), dict(answer.headers.items()), _ms(started)
    )


def _ms(started: float) -> float:
    return round((time.monotonic() - started) * 1000, 1)


def reason(exc: BaseException) -> str:
    """A short, human reason: 'connection refused', 'timed out', not a repr."""
    inner: BaseException = exc
    while True:
        nxt = getattr(inner, "reason", None) or inner.__cause__ or inner.__context__
        if not isinstance(nxt, BaseException) or nxt is inner:
            break
        inner = nxt
    text = str(inner).lower()
    if isinstance(inner, TimeoutError | urllib3.exceptions.TimeoutError) or "timed out" in text:
        return "timed out"
    if isinstance(inner, ConnectionRefusedError) or "connection refused" in text:
        return "connection refused"
    if "name or service not known" in text or "nodename nor servname" in text:
        return "cannot resolve host"
    if isinstance(inner, OSError) and inner.strerror:
        return inner.strerror.lower()
    return f"{type(inner).__name__}: {inner}" if str(inner) else type(inner).__name__


def join(base_url: str, path: str) -> str:
    """base + path with exactly one slash between them (base may carry a path prefix)."""
    return base_url.rstrip("/") + "/" + path.lstrip("/")
