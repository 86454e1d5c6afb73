"""One small HTTP client for checks and notifications: urllib, short timeouts, no raising.

Why not requests/httpx: the checks and webhooks send a handful of tiny requests, and
the standard library keeps the dependency list as the design card has it. Why it never
raises: a health probe that cannot connect, or a Slack webhook answering 500, is an
answer to report, not a crash -- callers turn :class:`Response` into ✔/✘ lines.
Loopback URLs bypass any configured proxy (a proxy cannot reach this machine's
127.0.0.1); other URLs honour the usual *_proxy variables.
"""

from __future__ import annotations

import http.client
import json
import socket
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

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


def _opener(url: str) -> urllib.request.OpenerDirector:
    host = (urlsplit(url).hostname or "").lower()
    if host in LOOPBACK:
        return urllib.request.build_opener(urllib.request.ProxyHandler({}))
    return urllib.request.build_opener()


def request(
    method: str,
    url: str,
    *,
    json_body: Any = None,
    data: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 5.0,
) -> Response:
    """Send one request; never raises for network or HTTP errors."""
    all_headers = {"User-Agent": USER_AGENT, "Accept": "*/*", **(headers or {})}
    if json_body is not None:
        data = json.dumps(json_body).encode("utf-8")
        all_headers.setdefault("Content-Type", "application/json")
    req = urllib.request.Request(url, data=data, method=method.upper(), headers=all_headers)
    started = time.monotonic()
    try:
        with _opener(url).open(req, timeout=timeout) as answer:
            body = answer.read(MAX_BODY)
            status, header_map = answer.status, dict(answer.headers.items())
    except urllib.error.HTTPError as exc:
        try:
            body = exc.read(MAX_BODY)
        except (OSError, http.client.HTTPException):
            body = b""
        status, header_map = exc.code, dict((exc.headers or {}).items())
    except (urllib.error.URLError, OSError, http.client.HTTPException, ValueError) as exc:
        return Response(0, elapsed_ms=_ms(started), error=_reason(exc))
    return Response(status, body.decode("utf-8", "replace"), header_map, _ms(started))


def _ms(started: float) -> float:
    return round((time.monotonic() - started) * 1000, 1)


def _reason(exc: BaseException) -> str:
    """A short, human reason: 'connection refused', 'timed out after ...', not a repr."""
    inner = exc.reason if isinstance(exc, urllib.error.URLError) else exc
    if isinstance(inner, TimeoutError):
        return "timed out"
    if isinstance(inner, ConnectionRefusedError):
        return "connection refused"
    if isinstance(inner, socket.gaierror):
        return f"cannot resolve host ({inner.strerror or inner})"
    if isinstance(inner, OSError) and inner.strerror:
        return inner.strerror.lower()
    return f"{type(inner).__name__}: {inner}" if str(inner) else type(inner).__name__


def join(base_url: str, path: str) -> str:
    """base + path with exactly one slash between them (base may carry a path prefix)."""
    return base_url.rstrip("/") + "/" + path.lstrip("/")
