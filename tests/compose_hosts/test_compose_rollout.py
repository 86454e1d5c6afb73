"""The rolling orchestrator with stand-in hosts (pure): batch order, health gate, undo on
failure and Ctrl-C, rollback keeping what moved, and the exit code each outcome maps to."""

from __future__ import annotations

import threading

import pytest

from shipwright.domain import Release, exit_code_for
from shipwright.errors import ExitCode, ShipwrightError
from shipwright.targets.compose_hosts.hosts import HostState, SlotState
from shipwright.targets.compose_hosts.rollout import Rollout
from shipwright.targets.compose_hosts.switcher import NEW as NEW_MODE
from shipwright.targets.compose_hosts.switcher import WARM, HostRun

OLD = Release("test", "v1", "r/app:v1@sha256:" + "1" * 64)
NEW = Release("test", "v2", "r/app:v2@sha256:" + "2" * 64)


class FakeHost:
    def __init__(self, name: str):
        self.name = name


class FakeSwitcher:
    """Records every step in a shared log; ``fail`` names the step that raises."""

    def __init__(self, name: str, log: list, fail: str | None = None, error=ShipwrightError):
        self.r = HostRun(FakeHost(name), NEW)  # type: ignore[arg-type]
        self.log, self.fail, self.error = log, fail, error
        self.lock = threading.Lock()

    def _step(self, step: str) -> None:
        with self.lock:
            self.log.append((self.r.name, step))
        if step == self.fail:
            raise self.error(f"{step} broke")

    mode = NEW_MODE

    def inspect(self):
        self._step("inspect")
        self.r.before = HostState("blue", {"blue": SlotState("blue", "running", "none", OLD)})
        self.r.old_slot, self.r.new_slot, self.r.mode = "blue", "green", self.mode

    def pull(self, login=None):
        self._step("pull")

    def start(self):
        self.r.started = True
        self._step("start")

    def wait_ready(self):
        self._step("ready")

    def switch(self):
        self.r.switched = True
        self._step("switch")
        self._step("gate")  # the health gate is part of the switch script

    def finish(self):
        self._step("drain")

    def undo(self):
        self._step("undo")
        if self.r.switched:
            self.r.switched, self.r.ended = False, "restored"
        self.r.started = False


def fleet(n=3, fail=None, error=ShipwrightError):
    log: list = []
    fail = fail or {}
    return log, [FakeSwitcher(f"h{i}", log, fail.get(f"h{i}"), error) for i in range(n)]


def roll(switchers, batch_size=1, **kwargs):
    return Rollout(switchers, batch_size=batch_size, **kwargs).run()  # type: ignore[arg-type]


def steps_of(log, host):
    return [step for name, step in log if name == host]


def test_success_pulls_everywhere_first_then_batches_and_keeps_the_old_colour_warm():
    log, switchers = fleet(3)
    events = []
    result = roll(switchers, batch_size=2, hook=lambda e, d: events.append((e, d.get("hosts"))))
    assert result.ok and result.moved and not result.restored
    order = [step for _, step in log]
    assert order.index("switch") > max(i for i, s in enumerate(order) if s == "pull")
    assert events == [
        ("batch-start", ["h0", "h1"]),
        ("host-switched", None),
        ("host-switched", None),
        ("batch-done", ["h0", "h1"]),
        ("batch-start", ["h2"]),
        ("host-switched", None),
        ("batch-done", ["h2"]),
    ]
    assert steps_of(log, "h2") == ["inspect", "pull", "start", "ready", "switch", "gate"]
    outcome = result.outcome(NEW)
    assert set(outcome.units.values()) == {"switched: v2 (green)"}
    assert exit_code_for(outcome) == ExitCode.OK
    assert [r.batch for r in result.runs] == [1, 1, 2]


def test_without_keep_warm_the_old_colour_drains_after_the_last_batch():
    log, switchers = fleet(2)
    result = roll(switchers, batch_size=1, keep_warm=False)
    assert result.ok and steps_of(log, "h0")[-1] == "drain" and steps_of(log, "h1")[-1] == "drain"
    order = [step for _, step in log]
    assert order.index("drain") > max(i for i, step in enumerate(order) if step == "gate")


def test_a_rollback_to_what_the_idle_slots_hold_only_switches():
    log, switchers = fleet(3)
    for s in switchers:
        s.mode = WARM
    result = roll(switchers, batch_size=1, undo_on_failure=False)
    assert result.ok
    assert steps_of(log, "h1") == ["inspect", "ready", "switch", "gate"]  # no pull, no start


def test_failure_in_a_later_batch_restores_every_switched_host():
    log, switchers = fleet(3, fail={"h1": "ready"})
    result = roll(switchers, batch_size=1)
    assert not result.ok and result.restored
    assert "undo" in steps_of(log, "h0") and "undo" in steps_of(log, "h1")
    assert steps_of(log, "h2") == ["inspect", "pull"]  # never started
    units = result.outcome(NEW).units
    assert units["h0"] == "restored: v1 (blue)"
    assert units["h1"] == "unchanged: v1 (blue); ready broke"
    assert units["h2"] == "unchanged: v1 (blue)"
    assert exit_code_for(result.outcome(NEW)) == ExitCode.RESTORED
    assert "h1: ready broke" in result.message


def test_failed_health_gate_counts_as_failure():
    log, switchers = fleet(2, fail={"h0": "gate"})
    result = roll(switchers, batch_size=1)
    assert not result.ok and result.restored
    assert "drain" not in [s for _, s in log]


def test_pull_failure_changes_nothing():
    log, switchers = fleet(3, fail={"h2": "pull"})
    result = roll(switchers, batch_size=1)
    assert not result.ok and not result.moved
    assert not any(step in ("start", "switch", "undo") for _, step in log)
    assert exit_code_for(result.outcome(NEW)) == ExitCode.FAILED


def test_ctrl_c_between_batches_restores():
    log, switchers = fleet(3)

    def hook(event, data):
        if event == "batch-done" and data["batch"] == 1:
            raise KeyboardInterrupt

    result = roll(switchers, batch_size=1, hook=hook)
    assert not result.ok and result.interrupted and result.restored
    assert "interrupted" in result.message
    assert steps_of(log, "h0")[-1] == "undo"
    assert exit_code_for(result.outcome(NEW)) == ExitCode.RESTORED


def test_ctrl_c_inside_a_worker_lets_others_finish_then_restores():
    log, switchers = fleet(3, fail={"h1": "switch"}, error=KeyboardInterrupt)
    result = roll(switchers, batch_size=3)
    assert result.interrupted and result.restored
    assert {"h0", "h2"} <= {name for name, step in log if step == "undo"}


def test_restore_that_fails_is_broken():
    log, switchers = fleet(2, fail={"h1": "gate"})
    switchers[0].undo = lambda: (_ for _ in ()).throw(ShipwrightError("host gone"))
    result = roll(switchers, batch_size=1)
    outcome = result.outcome(NEW)
    assert outcome.units["h0"].startswith("broken: restore failed: host gone")
    assert not result.restored and exit_code_for(outcome) == ExitCode.BROKEN


def test_rollback_keeps_hosts_that_reached_the_target():
    log, switchers = fleet(3, fail={"h2": "ready"})
    result = roll(switchers, batch_size=1, undo_on_failure=False)
    units = result.outcome(NEW).units
    assert units["h0"].startswith("switched") and units["h1"].startswith("switched")
    assert units["h2"].startswith("unchanged")
    assert "undo" in steps_of(log, "h2") and "undo" not in steps_of(log, "h0")
    assert "drain" not in steps_of(log, "h0")  # the colour it left stays warm
    assert not result.restored and exit_code_for(result.outcome(NEW)) == ExitCode.BROKEN


@pytest.mark.parametrize("size", [0, -1])
def test_bad_batch_size(size):
    with pytest.raises(ValueError):
        roll(fleet(1)[1], batch_size=size)
