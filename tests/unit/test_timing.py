"""The run's stopwatch: laps add up to the wall time, a target's own phases are booked
inside its move, and a deploy's ledger entry and --json name where every second went."""

from __future__ import annotations

import json
import time
from pathlib import Path

from shipwright.domain import Check, Checks, Outcome, Release
from shipwright.flow import commands
from shipwright.flow import release as flow
from shipwright.flow.session import Deployment
from shipwright.ledger import Ledger, MemoryLedgerStore
from shipwright.lock import DeployLock, MemoryLockStore
from shipwright.runner import Runner
from shipwright.settings import Settings
from shipwright.timing import BETWEEN, Stopwatch, process_started

V1 = Release("staging", "v1", "r/app:v1@sha256:" + "1" * 64)
V2 = Release("staging", "v2", "r/app:v2@sha256:" + "2" * 64)


def test_laps_add_up_to_the_wall_time_and_gaps_are_booked_between_phases():
    clock = Stopwatch()
    time.sleep(0.02)
    with clock.phase("a"):
        time.sleep(0.03)
    time.sleep(0.02)  # nobody timed this: it still shows up
    clock.split("move", {"pull": 0.01})
    phases = clock.phases
    assert set(phases) == {BETWEEN, "a", "pull", "move"}
    assert phases["a"] >= 0.03 and phases[BETWEEN] >= 0.02 and phases["move"] >= 0.01
    assert abs(sum(phases.values()) - clock.seconds) < 0.005


def test_the_process_start_is_before_now():
    age = time.monotonic() - process_started()
    assert 0 < age < 24 * 3600  # this test process started a while ago, not in the future


class SlowTarget:
    """Takes real time in each step, and reports its own phases as a target does."""

    name = "slow"

    def __init__(self):
        self.serving = V1

    def connect(self):
        time.sleep(0.02)

    def current(self):
        return self.serving

    def deploy(self, release):
        time.sleep(0.05)
        self.serving = release
        return Outcome(True, release, phases={"start": 0.03}, units={"u": "switched: v2"})

    def verify(self, release):
        time.sleep(0.02)
        return Checks([Check("serves", True)])

    def prune(self, needed):
        time.sleep(0.02)

    def app_url(self):
        return None

    def close(self):
        pass


def test_a_deploys_phases_cover_its_whole_run_in_the_ledger_and_the_json(capsys):
    settings = Settings("staging", {"DEPLOY_KEEP_IMAGES": "2"}, {}, Path.cwd())
    ledger = Ledger(MemoryLedgerStore(), "staging")
    dep = Deployment(
        settings, Runner(echo=False), SlowTarget(), ledger, DeployLock(MemoryLockStore(), "x")
    )
    clock = Stopwatch()
    clock.lap("start-up")
    result = flow.deploy(dep, V2, flow.Options(gates=False, watch=False), clock)
    entry = ledger.history()[0]
    for name in ("start-up", "connect", "lock", "current", "start", "move", "verify", "prune"):
        assert name in entry.phases, entry.phases
    assert entry.phases["connect"] >= 0.02 and entry.phases["verify"] >= 0.02
    assert entry.phases["start"] == 0.03 and entry.phases["move"] >= 0.015
    # Written last: everything but the write itself and what follows it is in the entry.
    assert sum(entry.phases.values()) <= result.seconds
    assert sum(entry.phases.values()) >= result.seconds - 0.05

    capsys.readouterr()
    commands._finish(result, as_json=True)
    data, _ = json.JSONDecoder().raw_decode(capsys.readouterr().out)
    assert {"ledger", "unlock", "report", "close"} <= set(data["phases"])
    assert abs(sum(data["phases"].values()) - data["seconds"]) < 0.01
