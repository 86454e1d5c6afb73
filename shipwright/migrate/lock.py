"""The migrations lock: one document with a unique key in the database itself, so every
machine that migrates the same database sees the same lock.

Why atomic by construction: the lock is taken with one ``find_one_and_update`` upsert
whose filter matches only an *expired* lock document; when a live one exists the upsert
collides with its ``_id`` and the server answers DuplicateKeyError -- there is no
find-then-insert window for a second run to slip through. The holder renews ``expires``
with a heartbeat while migrations run, so a crashed run's lock lapses by itself after
MIGRATE_LOCK_SECONDS; ``--break-lock`` removes a live one and is recorded.
"""

from __future__ import annotations

import contextlib
import threading
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from shipwright.domain import who
from shipwright.errors import ExitCode, ShipwrightError
from shipwright.migrate.changelog import BREAK_LOCK, Changelog, utcnow
from shipwright.output import say
from shipwright.redact import redact
from shipwright.retry import poll
from shipwright.runner import Runner

KEY = "migrations"


def describe(doc: dict[str, Any]) -> str:
    def at(key: str) -> str:
        value = doc.get(key)
        return value.isoformat(timespec="seconds") if isinstance(value, datetime) else "?"

    reason = f" ({doc['reason']})" if doc.get("reason") else ""
    return (
        f"{doc.get('holder', 'unknown')}{reason} since {at('since')}, "
        f"heartbeat {at('heartbeat')}, expires {at('expires')}"
    )


class MigrationLockHeld(ShipwrightError):
    exit_code = ExitCode.FAILED

    def __init__(self, holder: dict[str, Any] | None, waited: float):
        who_ = describe(holder) if holder else "another run (it just ended: try again)"
        after = f" after waiting {waited:.0f}s" if waited >= 1 else ""
        super().__init__(
            f"the migrations lock is held by {who_}{after}; nothing changed. Wait for it "
            "(--lock-wait SECONDS) or, if that run is dead, --break-lock"
        )


class MigrationLock:
    def __init__(self, db: Any, collection: str, runner: Runner, *, seconds: float):
        self.coll = db[collection]
        self.seconds = seconds
        self.runner = Runner(dry_run=runner.dry_run, echo=False)
        self.token = ""
        self.lost = threading.Event()  # the heartbeat found the lock gone (broken)
        self._stop = threading.Event()
        self._beat: threading.Thread | None = None

    def holder(self) -> dict[str, Any] | None:
        return self.coll.find_one({"_id": KEY})

    def _try(self, reason: str, token: str) -> bool:
        from pymongo import ReturnDocument
        from pymongo.errors import DuplicateKeyError

        now = utcnow()
        fields = {
            "holder": who(),
            "reason": redact(reason),
            "since": now,
            "heartbeat": now,
            "expires": now + timedelta(seconds=self.seconds),
            "token": token,
        }
        try:
            self.coll.find_one_and_update(
                {"_id": KEY, "expires": {"$lt": now}},
                {"$set": fields},
                upsert=True,
                return_document=ReturnDocument.AFTER,
            )
        except DuplicateKeyError:
            return False
        return True

    def acquire(self, reason: str, wait: float = 0.0) -> None:
        """Take the lock (polling up to ``wait`` seconds); MigrationLockHeld names the
        holder. Under --dry-run it is only planned."""
        token = uuid.uuid4().hex
        taken = self.runner.api(
            f"take the migrations lock ({self.coll.name}, expires after {self.seconds:g}s)",
            lambda: poll(
                lambda: self._try(reason, token), timeout=wait, interval=0.5, fatal=(Exception,)
            ),
        )
        if taken is None:  # dry run
            return
        if not taken.ok:
            raise MigrationLockHeld(self.holder(), taken.seconds)
        self.token = token
        self._stop.clear()
        self._beat = threading.Thread(target=self._heartbeat, daemon=True, name="migrate-lock")
        self._beat.start()

    def _heartbeat(self) -> None:
        while not self._stop.wait(self.seconds / 3):
            now = utcnow()
            try:
                done = self.coll.update_one(
                    {"_id": KEY, "token": self.token},
                    {"$set": {"heartbeat": now, "expires": now + timedelta(seconds=self.seconds)}},
                )
            except Exception as exc:  # noqa: BLE001 - the next beat may succeed; say it
                say(f"– migrations lock heartbeat failed: {type(exc).__name__}", err=True)
                continue
            if done.matched_count == 0:
                self.lost.set()
                return

    def release(self) -> None:
        """Release our lock (never someone else's: the token must match)."""
        self._stop.set()
        if self._beat is not None:
            self._beat.join(timeout=5)
            self._beat = None
        if self.token:
            token, self.token = self.token, ""
            self.coll.delete_one({"_id": KEY, "token": token})

    def break_lock(self, changelog: Changelog, reason: str) -> None:
        """Remove whoever's lock is there; recorded in the changelog and said."""
        held = self.holder()
        if held is None:
            say("– no migrations lock was held")
            return
        self.runner.api("break the migrations lock", self.coll.delete_one, {"_id": KEY})
        changelog.record_event(BREAK_LOCK, broken=describe(held), reason=reason)
        say(f"⚠ broke the migrations lock held by {describe(held)}")

    @contextlib.contextmanager
    def held(self, reason: str, *, wait: float = 0.0) -> Iterator[MigrationLock]:
        """``with lock.held(...)``: released on return, errors and Ctrl-C alike."""
        self.acquire(reason, wait)
        try:
            yield self
        finally:
            try:
                self.release()
            except Exception as exc:  # noqa: BLE001 - keep the original error in front
                say(f"✘ could not release the migrations lock: {type(exc).__name__}", err=True)
