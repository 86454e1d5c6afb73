"""The one redaction layer between the program and every place text leaves it.

Secret values are registered once (when settings load) and every writer -- the
console streams, captured command output, log records, reports, JSON, the ledger,
notifications -- passes text through :func:`redact`.
"""

from __future__ import annotations

import io
import re
import threading
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, unquote, urlsplit

MASK = "********"
#: Values shorter than this are not treated as secrets (redacting "1" would
#: destroy every number in the output).
MIN_SECRET_LENGTH = 4


class Redactor:
    """Replaces every registered secret (and its common encodings) with MASK."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: set[str] = set()
        self._pattern: re.Pattern[str] | None = None

    def add(self, value: str | None) -> None:
        if not value or len(value) < MIN_SECRET_LENGTH:
            return
        forms = {value, quote(value, safe=""), unquote(value)}
        forms |= _uri_password(value)
        with self._lock:
            before = len(self._values)
            self._values |= {f for f in forms if len(f) >= MIN_SECRET_LENGTH}
            if len(self._values) != before:
                # Longest first so a secret containing another is masked whole.
                ordered = sorted(self._values, key=len, reverse=True)
                self._pattern = re.compile("|".join(re.escape(v) for v in ordered))

    def add_all(self, values: Iterable[str | None]) -> None:
        for value in values:
            self.add(value)

    def clear(self) -> None:
        with self._lock:
            self._values.clear()
            self._pattern = None

    def redact(self, text: str) -> str:
        pattern = self._pattern
        if pattern is None or not text:
            return text
        return pattern.sub(MASK, text)

    def redact_obj(self, obj: Any) -> Any:
        """Redact every string inside nested dicts/lists (for JSON and the ledger)."""
        if isinstance(obj, str):
            return self.redact(obj)
        if isinstance(obj, dict):
            return {self.redact_obj(k): self.redact_obj(v) for k, v in obj.items()}
        if isinstance(obj, list | tuple):
            return [self.redact_obj(v) for v in obj]
        return obj


def _uri_password(value: str) -> set[str]:
    """The password inside a URI such as mongodb://user:pass@host is a secret too."""
    if "://" not in value:
        return set()
    try:
        password = urlsplit(value).password
    except ValueError:
        return set()
    return {password, unquote(password)} if password else set()


class RedactingStream(io.TextIOBase):
    """A text stream that redacts whole lines before they reach the real stream.

    Lines are buffered until their newline so a secret split across two writes is
    still caught; ``flush`` releases a partial line (prompts, progress bars).
    """

    def __init__(self, target: Any, redactor: Redactor):
        self._target = target
        self._redactor = redactor
        self._buffer = ""

    def write(self, text: str) -> int:
        self._buffer += text
        if "\n" in self._buffer:
            complete, self._buffer = self._buffer.rsplit("\n", 1)
            self._target.write(self._redactor.redact(complete + "\n"))
        return len(text)

    def flush(self) -> None:
        if self._buffer:
            self._target.write(self._redactor.redact(self._buffer))
            self._buffer = ""
        self._target.flush()

    def isatty(self) -> bool:
        return bool(getattr(self._target, "isatty", lambda: False)())

    def fileno(self) -> int:
        return self._target.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self._target, "encoding", "utf-8")

    def writable(self) -> bool:
        return True


#: The process-wide redactor.
REDACTOR = Redactor()
redact = REDACTOR.redact
redact_obj = REDACTOR.redact_obj


def install_stream_redaction() -> None:
    """Wrap sys.stdout and sys.stderr (idempotent): tracebacks and prints are covered."""
    import sys

    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if not isinstance(stream, RedactingStream):
            setattr(sys, name, RedactingStream(stream, REDACTOR))
