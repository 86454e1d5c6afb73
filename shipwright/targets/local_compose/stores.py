"""The local target's lock and ledger: plain files in the checkout's ``.shipwright/local/``.

Why files: on one machine the deploys that can collide are other processes of the same
user (a second ``nox -s ci``, an ``invoke rollback`` in another terminal), and a file
created atomically is all the coordination they need -- no service to run. The ledger
is the shared :class:`~shipwright.ledger.JsonLinesLedgerStore` (one JSON line per entry).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from shipwright.ledger import JsonLinesLedgerStore
from shipwright.lock import LockInfo

__all__ = ["FileLockStore", "JsonLinesLedgerStore"]


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
