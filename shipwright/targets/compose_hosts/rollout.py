"""Rolling a release across hosts: batches, a health gate between them, and undo.

Why this order: every host is inspected and pulls the image before any traffic moves
(a missing digest or a dead host fails with nothing changed); then batches of
DEPLOY_BATCH_SIZE start, get ready, and switch with the health gate right after (one
script per host and step, the hosts of a batch at once); old containers keep running
(for the keep-warm period, or until the last batch passes), so undoing a switched host
is one nginx reload. A failure or Ctrl-C anywhere sends every switched host back.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any, TypeVar

from shipwright.domain import Outcome, Release
from shipwright.output import status
from shipwright.targets.compose_hosts.switcher import COLD, NEW, SERVING, HostRun, Switcher

T = TypeVar("T")
Hook = Callable[[str, dict[str, Any]], None]


def batches(items: Sequence[T], size: int) -> list[list[T]]:
    """``items`` in order, ``size`` at a time (the last batch may be smaller)."""
    if size < 1:
        raise ValueError("batch size must be at least 1")
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


class Cancelled(Exception):
    """A worker saw the cancel flag (Ctrl-C) between two steps."""


class StepFailed(Exception):
    def __init__(self, errors: dict[str, BaseException]):
        self.errors = errors
        super().__init__("; ".join(f"{h}: {_first_line(e)}" for h, e in errors.items()))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


@dataclass
class RolloutResult:
    ok: bool
    runs: list[HostRun]
    phases: dict[str, float] = field(default_factory=dict)
    message: str = ""
    moved: bool = False  # traffic reached the new release on some host
    interrupted: bool = False

    @property
    def restored(self) -> bool:
        """Failed after traffic moved, and every host serves what it served before."""
        return (
            not self.ok
            and self.moved
            and all(r.ended in ("unchanged", "restored") for r in self.runs)
        )

    def outcome(self, release: Release) -> Outcome:
        return Outcome(
            ok=self.ok,
            release=release,
            message=self.message,
            phases=self.phases,
            units={r.name: r.unit() for r in self.runs},
            restored=self.restored,
        )


class Rollout:
    def __init__(
        self,
        switchers: list[Switcher],
        *,
        batch_size: int,
        undo_on_failure: bool = True,
        hook: Hook | None = None,
        registry_login: tuple[str, str, str] | None = None,
        keep_warm: bool = True,
    ):
        self.switchers = switchers
        self.keep_warm = keep_warm  # the old colours keep running; else they drain at the end
        self.batch_size = batch_size
        self.undo_on_failure = undo_on_failure
        self.hook = hook or (lambda event, data: None)
        self.registry_login = registry_login
        self.cancel = threading.Event()
        self.phases: dict[str, float] = {}

    @contextlib.contextmanager
    def phase(self, name: str) -> Iterator[None]:
        started = time.monotonic()
        try:
            yield
        finally:
            self.phases[name] = self.phases.get(name, 0.0) + time.monotonic() - started

    def run(self) -> RolloutResult:
        runs = [s.r for s in self.switchers]
        moved = False
        try:
            with self.phase("inspect"):
                self._each(self.switchers, lambda s: s.inspect(), None)
            with self.phase("pull"):
                fresh = [s for s in self.switchers if s.r.mode == NEW]
                self._each(fresh, lambda s: s.pull(self.registry_login), "pulled")
            groups = batches(self.switchers, self.batch_size)
            for number, group in enumerate(groups, 1):
                names = [s.r.name for s in group]
                for s in group:
                    s.r.batch = number
                self.hook("batch-start", {"batch": number, "hosts": names})
                moving = [s for s in group if s.r.mode != SERVING]
                with self.phase("start"):
                    waking = [s for s in moving if s.r.mode in (NEW, COLD)]
                    self._each(waking, lambda s: s.start(), None)
                with self.phase("ready"):
                    self._each(moving, lambda s: s.wait_ready(), "ready")
                with self.phase("switch"):
                    moved = moved or bool(moving)
                    self._each(moving, self._switch, "switched, healthy through nginx")
                self.hook("batch-done", {"batch": number, "hosts": names})
        except StepFailed as exc:
            return self._fail(runs, moved, str(exc), interrupted=False)
        except (KeyboardInterrupt, Cancelled):
            return self._fail(runs, moved, "interrupted (Ctrl-C)", interrupted=True)
        for s in self.switchers:
            s.r.ended = "switched"  # every host serves the release now
        if self.keep_warm:
            return RolloutResult(True, runs, self.phases, moved=True)
        try:
            with self.phase("drain"):
                errors = self._each(
                    self.switchers, lambda s: s.finish(), "old slot drained", strict=False
                )
        except KeyboardInterrupt:
            return RolloutResult(
                True,
                runs,
                self.phases,
                "interrupted while draining the old "
                "slots: they may still run until the next deploy",
                moved=True,
            )
        notes = "; ".join(f"{h}: old slot not stopped: {_first_line(e)}" for h, e in errors.items())
        return RolloutResult(True, runs, self.phases, notes, moved=True)

    def _switch(self, s: Switcher) -> None:
        s.switch()
        self.hook("host-switched", {"host": s.r.name, "batch": s.r.batch})

    def _fail(self, runs: list[HostRun], moved: bool, why: str, interrupted: bool) -> RolloutResult:
        """Undo what the failed rollout touched. Without ``undo_on_failure`` (rollback)
        switched hosts stay on the new release; unswitched new containers still go."""
        self.cancel.clear()
        undo = [s for s in self.switchers if s.r.started or s.r.switched or s.r.woken]
        keep = [] if self.undo_on_failure else [s for s in undo if s.r.switched]
        undo = [s for s in undo if s not in keep]
        if undo:
            with self.phase("restore"):
                errors = self._each(undo, lambda s: s.undo(), "back as it was", strict=False)
            for s in undo:
                if s.r.name in errors:
                    s.r.detail = f"restore failed: {_first_line(errors[s.r.name])}"
                    if s.r.switched:
                        s.r.ended = "broken"
        for s in keep:
            s.r.ended = "switched"
        if keep and not self.keep_warm:  # the new release serves there: retire the old slot
            with self.phase("drain"):
                self._each(keep, lambda s: s.finish(), "old slot drained", strict=False)
        return RolloutResult(False, runs, self.phases, why, moved=moved, interrupted=interrupted)

    def _each(
        self,
        group: list[Switcher],
        step: Callable[[Switcher], None],
        done: str | None,
        strict: bool = True,
    ) -> dict[str, BaseException]:
        """Run ``step`` on every host of ``group`` at once; Ctrl-C lets running steps end
        (a half-sent SSH command is worse than a finished one), then re-raises."""

        def guarded(s: Switcher) -> None:
            if self.cancel.is_set():
                raise Cancelled()
            step(s)

        errors: dict[str, BaseException] = {}
        with ThreadPoolExecutor(max_workers=max(1, len(group))) as pool:
            futures = {pool.submit(guarded, s): s for s in group}
            try:
                wait(futures)
            except KeyboardInterrupt:
                self.cancel.set()
                wait(futures)
                raise
        interrupted = False
        for future, s in futures.items():
            exc = future.exception()
            if exc is None:
                if done:
                    status(True, f"{s.r.name}: {done}")
                continue
            if isinstance(exc, KeyboardInterrupt | Cancelled):
                interrupted = True
                continue
            errors[s.r.name] = exc
            s.r.detail = _first_line(exc)
            status(False, f"{s.r.name}: {exc}")
        if interrupted:
            raise KeyboardInterrupt
        if errors and strict:
            raise StepFailed(errors)
        return errors
