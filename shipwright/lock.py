"""The deploy lock: one deploy or rollback per environment at a time.

Why target-agnostic: every target keeps the lock somewhere different (a file on
the SSH hosts, a DynamoDB item, a ConfigMap), but the rules are the same -- refuse
(or wait up to ``lock_wait`` seconds) while someone holds it and say who, since when
and why; break it only when asked, and record that in the ledger; always release
it, also on Ctrl-C. A :class:`LockStore` only has to create atomically, read and
delete.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from shipwright.domain import now_iso, who
from shipwright.errors import ExitCode, ShipwrightError
from shipwright.output import say
from shipwright.redact import redact_obj

POLL_SECONDS = 1.0


@dataclass(frozen=True)
class LockInfo:
    """Who holds an environment's lock, since when, for which version and why."""

    environment: str
    holder: str = field(default_factory=who)
    since: str = field(default_factory=now_iso)
    version: str = ""
    reason: str = ""
    token: str = field(default_factory=lambda: uuid.uuid4().hex)

    def to_dict(self) -> dict[str, Any]:
        return redact_obj(asdict(self))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LockInfo:
        return cls(**{k: str(data.get(k, "")) for k in cls.__dataclass_fields__})

    def describe(self) -> str:
        what = f" deploying {self.version}" if self.version else ""
        why = f" ({self.reason})" if self.reason else ""
        return f"{self.holder}{what} since {self.since}{why}"


class LockHeld(ShipwrightError):
    """Someone else holds the lock: nothing was changed (exit 1)."""

    exit_code = ExitCode.FAILED

    def __init__(self, holder: LockInfo | None, environment: str, waited: float = 0.0):
        self.holder = holder
        who_ = holder.describe() if holder else "another process (details unreadable)"
        waited_text = f" after waiting {waited:.0f}s" if waited else ""
        super().__init__(
            f"the deploy lock of {environment!r} is held by {who_}{waited_text}; "
            "wait for it (--lock-wait SECONDS) or, if that run is dead, --break-lock"
        )


class LockStore(Protocol):
    """Where a target keeps its locks: an atomic create-if-absent, a read, a delete."""

    def create(self, info: LockInfo) -> LockInfo | None:
        """Create the lock atomically; None on success, else the current holder's info
        (an unreadable lock returns a LockInfo with holder "unknown")."""
        ...

    def read(self, environment: str) -> LockInfo | None: ...

    def delete(self, environment: str, token: str | None = None) -> None:
        """Remove the lock; with ``token`` only if it is still the one with that token."""
        ...


class MemoryLockStore:
    """An in-process store: for unit tests and single-process tools."""

    def __init__(self) -> None:
        self._locks: dict[str, LockInfo] = {}
        self._mutex = threading.Lock()

    def create(self, info: LockInfo) -> LockInfo | None:
        with self._mutex:
            current = self._locks.get(info.environment)
            if current is not None:
                return current
            self._locks[info.environment] = info
            return None

    def read(self, environment: str) -> LockInfo | None:
        return self._locks.get(environment)

    def delete(self, environment: str, token: str | None = None) -> None:
        with self._mutex:
            current = self._locks.get(environment)
            if current and (token is None or current.token == token):
                del self._locks[environment]


class FileLockStore:
    """``<folder>/<environment>.lock`` holding the holder's LockInfo as JSON.

    Created like ``O_EXCL`` -- the create fails if the file exists -- but by hard-linking
    a fully written temporary file into place, so the lock never exists without its
    content: whoever finds it held can always say who holds it, since when and why.
    """

    def __init__(self, folder: Path):
        self.folder = Path(folder)

    def path(self, environment: str) -> Path:
        return self.folder / f"{environment}.lock"

    def create(self, info: LockInfo) -> LockInfo | None:
        self.folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".lock-", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(info.to_dict(), handle, sort_keys=True)
                handle.flush()
                os.fsync(handle.fileno())
            try:
                os.link(tmp, self.path(info.environment))  # atomic; EEXIST when held
            except FileExistsError:
                return self.read(info.environment) or LockInfo(info.environment, holder="unknown")
            return None
        finally:
            Path(tmp).unlink(missing_ok=True)

    def read(self, environment: str) -> LockInfo | None:
        try:
            text = self.path(environment).read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        try:
            data = json.loads(text)
            if not isinstance(data, dict):
                raise ValueError("not an object")
            return LockInfo.from_dict({**data, "environment": environment})
        except ValueError:
            return LockInfo(environment, holder="unknown", since="", token="")

    def delete(self, environment: str, token: str | None = None) -> None:
        if token is not None:
            current = self.read(environment)
            if current is None or current.token != token:
                return  # not ours (any more): never remove someone else's lock
        self.path(environment).unlink(missing_ok=True)


class DeployLock:
    """The rules on top of a store: acquire (refuse or wait), release, break."""

    def __init__(
        self,
        store: LockStore,
        environment: str,
        *,
        on_break: Callable[[LockInfo | None, str], Any] | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.store, self.environment, self.on_break = store, environment, on_break
        self._clock, self._sleep = clock, sleep
        self.held: LockInfo | None = None

    def acquire(self, *, version: str = "", reason: str = "", wait: float = 0.0) -> LockInfo:
        """Take the lock, polling up to ``wait`` seconds; LockHeld names the holder."""
        mine = LockInfo(self.environment, version=version, reason=reason)
        started = self._clock()
        while True:
            holder = self.store.create(mine)
            if holder is None:
                self.held = mine
                return mine
            waited = self._clock() - started
            if waited >= wait:
                raise LockHeld(holder, self.environment, waited)
            self._sleep(min(POLL_SECONDS, max(0.0, wait - waited)))

    def release(self) -> None:
        """Release our lock (never someone else's: the token must match)."""
        if self.held is not None:
            self.store.delete(self.environment, self.held.token)
            self.held = None

    def break_lock(self, *, reason: str = "") -> LockInfo | None:
        """Remove whoever's lock is there and record it in the ledger; returns it."""
        previous = self.store.read(self.environment)
        self.store.delete(self.environment)
        if self.on_break is not None:  # the flow records it in the ledger
            self.on_break(previous, reason)
        return previous

    @contextlib.contextmanager
    def hold(
        self,
        *,
        version: str = "",
        reason: str = "",
        wait: float = 0.0,
        break_first: bool = False,
    ) -> Iterator[LockInfo]:
        """``with lock.hold(...)``: released on return, exceptions and Ctrl-C alike."""
        if break_first:
            self.break_lock(reason=reason or "--break-lock")
        info = self.acquire(version=version, reason=reason, wait=wait)
        try:
            yield info
        except BaseException:
            try:
                self.release()
            except Exception as exc:  # keep the original error in front, but say it
                say(f"✘ could not release the deploy lock of {self.environment!r}: {exc}", err=True)
            raise
        self.release()
