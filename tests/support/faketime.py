"""A clock that moves only when the code under test sleeps: timeouts and polls run
instantly, and ``interrupt_after`` sleeps raise KeyboardInterrupt (Ctrl-C while waiting)."""

from __future__ import annotations


class FakeTime:
    def __init__(self, interrupt_after: int | None = None):
        self.now, self.sleeps, self.interrupt_after = 0.0, 0, interrupt_after

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps += 1
        if self.interrupt_after is not None and self.sleeps > self.interrupt_after:
            raise KeyboardInterrupt
        self.now += seconds
