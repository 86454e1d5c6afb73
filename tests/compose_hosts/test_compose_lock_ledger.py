"""The deploy lock, the ledger and the direct (ungated, unwatched) deploy flow that
the one flow runs: lock -> deploy -> verify -> record (pure, in memory)."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest

from shipwright import postmortem
from shipwright.domain import Check, Checks, Outcome, Release
from shipwright.errors import ConfigError, ExitCode, ShipwrightError
from shipwright.flow import release as flow
from shipwright.flow.session import Deployment
from shipwright.ledger import JsonLinesLedgerStore, Ledger, MemoryLedgerStore
from shipwright.lock import DeployLock, LockHeld, LockInfo, MemoryLockStore
from shipwright.redact import MASK, REDACTOR
from shipwright.runner import Runner
from shipwright.settings import Settings

DIGEST = "sha256:" + "a" * 64


def rel(version: str, env: str = "staging") -> Release:
    digest = "sha256:" + (version.encode().hex() * 64)[:64]
    return Release(env, version, f"127.0.0.1:5000/app:{version}@{digest}", git_sha="abc1234")


# -- lock ------------------------------------------------------------------------------
def test_lock_refuses_naming_holder_since_and_why():
    store = MemoryLockStore()
    DeployLock(store, "staging").acquire(version="v1", reason="hotfix 42")
    with pytest.raises(LockHeld) as err:
        DeployLock(store, "staging").acquire(version="v2")
    message = str(err.value)
    assert err.value.exit_code == ExitCode.FAILED
    assert "deploying v1" in message and "hotfix 42" in message and " since " in message
    holder = store.read("staging")
    assert holder is not None and holder.holder in message


def test_lock_is_per_environment():
    store = MemoryLockStore()
    DeployLock(store, "staging").acquire()
    DeployLock(store, "production").acquire()  # no error


def test_lock_waits_up_to_lock_wait_then_takes_it():
    store = MemoryLockStore()
    first = DeployLock(store, "staging")
    first.acquire()
    clock = [0.0]
    sleeps = []

    def sleep(seconds):
        sleeps.append(seconds)
        clock[0] += seconds
        if clock[0] >= 3:
            first.release()

    second = DeployLock(store, "staging", clock=lambda: clock[0], sleep=sleep)
    info = second.acquire(wait=10)
    assert second.held == info and 3 <= clock[0] < 10 and sleeps


def test_lock_wait_runs_out():
    store = MemoryLockStore()
    DeployLock(store, "staging").acquire(reason="long one")
    clock = [0.0]
    lock = DeployLock(
        store, "staging", clock=lambda: clock[0], sleep=lambda s: clock.__setitem__(0, clock[0] + s)
    )
    with pytest.raises(LockHeld, match="after waiting 5s"):
        lock.acquire(wait=5)


@pytest.mark.parametrize("error", [KeyboardInterrupt, RuntimeError])
def test_hold_always_releases(error):
    store = MemoryLockStore()
    lock = DeployLock(store, "staging")
    with pytest.raises(error), lock.hold(version="v1"):
        assert store.read("staging") is not None
        raise error()
    assert store.read("staging") is None


def test_release_never_removes_someone_elses_lock():
    store = MemoryLockStore()
    mine = DeployLock(store, "staging")
    mine.acquire()
    store.delete("staging")  # broken by someone else, who then takes it
    theirs = DeployLock(store, "staging")
    theirs.acquire()
    mine.release()
    assert store.read("staging") == theirs.held


def test_break_lock_is_explicit_and_recorded():
    store, ledger = MemoryLockStore(), Ledger(MemoryLedgerStore(), "staging")
    DeployLock(store, "staging").acquire(reason="crashed run")
    lock = DeployLock(store, "staging", on_break=ledger.record_lock_break)
    with lock.hold(version="v2", break_first=True, reason="ci stuck"):
        pass
    (entry,) = ledger.history()
    assert entry.action == "break-lock" and entry.reason == "ci stuck"
    assert "crashed run" in entry.notes[0]


def test_lock_info_round_trips_and_is_redacted():
    REDACTOR.add("lock-canary-77")
    info = LockInfo("staging", version="v1", reason="because lock-canary-77")
    data = info.to_dict()
    assert MASK in data["reason"] and LockInfo.from_dict(data).token == info.token


# -- ledger ----------------------------------------------------------------------------
def test_ledger_entry_shape_and_history_order(tmp_path):
    ledger = Ledger(JsonLinesLedgerStore(tmp_path), "staging")
    ledger.record(
        "deploy",
        rel("v1"),
        "succeeded",
        phases={"pull": 1.23456},
        hosts={"h1": "switched: v1 (blue)"},
        reason="first",
    )
    ledger.record("deploy", rel("v2"), "restored", previous=rel("v1"), notes=["gate failed"])
    newest, oldest = ledger.history()
    assert newest.version == "v2" and oldest.version == "v1"
    data = oldest.to_dict()
    assert set(data) >= {
        "id",
        "action",
        "release",
        "result",
        "phases",
        "metrics",
        "who",
        "when",
        "reason",
        "hosts",
        "notes",
    }
    assert data["phases"] == {"pull": 1.235} and data["release"]["image"] == rel("v1").image
    assert ledger.history(limit=1) == [newest]


def test_ledger_rejects_unknown_action_or_result():
    ledger = Ledger(MemoryLedgerStore(), "staging")
    with pytest.raises(ValueError):
        ledger.record("redeploy", rel("v1"), "succeeded")
    with pytest.raises(ValueError):
        ledger.record("deploy", rel("v1"), "ok")


def test_ledger_is_redacted():
    REDACTOR.add("ledger-canary-123")
    store = MemoryLedgerStore()
    Ledger(store, "staging").record(
        "deploy",
        rel("v1"),
        "failed",
        notes=["env had ledger-canary-123"],
        reason="ledger-canary-123",
    )
    assert "ledger-canary-123" not in repr(store.entries)


def test_last_good_skips_failures_excluded_and_rolled_back_versions():
    ledger = Ledger(MemoryLedgerStore(), "staging")
    assert ledger.last_good() is None
    ledger.record("deploy", rel("v1"), "succeeded")
    ledger.record("deploy", rel("v2"), "succeeded", previous=rel("v1"))
    ledger.record("deploy", rel("v3"), "restored", previous=rel("v2"))
    assert ledger.last_good().version == "v2"
    assert ledger.last_good(exclude_version="v2").version == "v1"
    # v2 turns out bad: rolled back to v1. v2 must not count as good any more.
    ledger.record("rollback", rel("v1"), "succeeded", previous=rel("v2"))
    assert ledger.last_good().version == "v1"
    assert ledger.last_good(exclude_version="v1") is None
    # v2 fixed and deployed again: good again.
    ledger.record("deploy", rel("v2"), "succeeded", previous=rel("v1"))
    assert ledger.last_good().version == "v2"


def test_needed_images_keeps_last_good_and_both_sides_of_newest():
    ledger = Ledger(MemoryLedgerStore(), "staging")
    for v in ("v1", "v2", "v3", "v4"):
        ledger.record("deploy", rel(v), "succeeded")
    ledger.record("deploy", rel("v5"), "broken", previous=rel("v4"))
    needed = ledger.needed_images(keep=2)
    assert needed == [rel("v4").image, rel("v3").image, rel("v5").image]


def test_torn_ledger_line_is_skipped(tmp_path):
    store = JsonLinesLedgerStore(tmp_path)
    ledger = Ledger(store, "staging")
    ledger.record("deploy", rel("v1"), "succeeded")
    with (tmp_path / "staging.jsonl").open("a") as handle:
        handle.write('{"action": "deploy", "resu')
    assert [e.version for e in ledger.history()] == ["v1"]


def test_rollback_release_named_or_last_good_before_what_serves():
    ledger = Ledger(MemoryLedgerStore(), "staging")
    ledger.record("deploy", rel("v1"), "succeeded")
    ledger.record("deploy", rel("v2"), "succeeded", previous=rel("v1"))
    assert ledger.rollback_release(None, rel("v2")) == rel("v1")
    assert ledger.rollback_release(None, None) == rel("v2")
    assert ledger.rollback_release("v2", rel("v2")).image == rel("v2").image
    with pytest.raises(ConfigError, match="'v9' is not in the ledger of 'staging'"):
        ledger.rollback_release("v9", rel("v2"))
    with pytest.raises(ConfigError, match="no earlier good release"):
        Ledger(MemoryLedgerStore(), "staging").rollback_release(None, rel("v1"))


# -- flow (lock -> deploy -> verify -> record) with a stand-in target ------------------
class FakeTarget:
    name = "fake"

    def __init__(self, outcome=None, error=None, serving=None, unhealthy=()):
        self.outcome, self.error, self.serving = outcome, error, serving
        self.unhealthy = set(unhealthy)  # versions that fail verification
        self.verify_error = None
        self.deployed = []
        self.pruned = None

    def current(self):
        return self.serving

    def deploy(self, release):
        self.deployed.append(release)
        if self.error:
            raise self.error
        return self.outcome

    rollback = deploy

    def verify(self, release):
        if self.verify_error:
            raise self.verify_error
        return Checks([Check(f"serves {release.version}", release.version not in self.unhealthy)])

    def prune(self, needed):
        self.pruned = needed

    def app_url(self):
        return None

    def connect(self):
        pass


@pytest.fixture(autouse=True)
def postmortems_in_tmp(monkeypatch, tmp_path):
    """A restored deploy writes a postmortem skeleton: not into the project."""
    write = functools.partial(postmortem.write_postmortem, root=tmp_path)
    monkeypatch.setattr(postmortem, "write_postmortem", write)


def deployment(target, ledger=None, store=None) -> Deployment:
    settings = Settings("staging", {"DEPLOY_KEEP_IMAGES": "2"}, {}, Path.cwd())
    ledger = ledger or Ledger(MemoryLedgerStore(), "staging")
    lock = DeployLock(store or MemoryLockStore(), "staging", on_break=ledger.record_lock_break)
    return Deployment(settings, Runner(echo=False), target, ledger, lock)


DIRECT = flow.Options(gates=False, watch=False, reason="r")


def outcome(ok, units, restored=False):
    return Outcome(ok=ok, release=None, units=units, restored=restored, phases={"pull": 1.0})


@pytest.mark.parametrize(
    "result, code, ledger_result",
    [
        (outcome(True, {"h1": "switched: v2 (green)"}), ExitCode.OK, "succeeded"),
        (outcome(False, {"h1": "unchanged: v1 (blue)"}), ExitCode.FAILED, "failed"),
        (
            outcome(False, {"h1": "restored: v1 (blue)"}, restored=True),
            ExitCode.RESTORED,
            "restored",
        ),
        (outcome(False, {"h1": "broken: host down"}), ExitCode.BROKEN, "broken"),
    ],
)
def test_flow_exit_codes_and_record(result, code, ledger_result):
    store = MemoryLockStore()
    target = FakeTarget(result, serving=rel("v1"))
    dep = deployment(target, store=store)
    done = flow.deploy(dep, rel("v2"), DIRECT)
    assert done.exit_code == code and store.read("staging") is None
    (entry,) = dep.ledger.history()
    assert entry.result == ledger_result == done.recorded and entry.previous["version"] == "v1"
    assert entry.reason == "r" and entry.phases["pull"] == 1.0 and done.seconds > 0
    assert {"connect", "lock", "current", "move", "notices"} <= set(entry.phases)
    assert target.pruned == (dep.ledger.needed_images(2) if code == ExitCode.OK else None)


def test_flow_rolls_back_what_fails_verification_and_records_rolled_back():
    target = FakeTarget(outcome(True, {"h1": "switched: v2 (green)"}), serving=rel("v1"))
    target.unhealthy.add("v2")
    dep = deployment(target)
    done = flow.deploy(dep, rel("v2"), DIRECT)
    assert done.exit_code == ExitCode.RESTORED and done.recorded == "rolled_back"
    assert [r.version for r in target.deployed] == ["v2", "v1"]
    (entry,) = dep.ledger.history()
    assert entry.result == "rolled_back" and "verification failed: serves v2" in entry.notes
    assert "rolled back to v1" in entry.notes and target.pruned is None
    assert done.postmortem and Path(done.postmortem).is_file()


def test_flow_records_and_releases_when_interrupted_hard():
    store = MemoryLockStore()
    dep = deployment(FakeTarget(error=KeyboardInterrupt()), store=store)
    with pytest.raises(KeyboardInterrupt):
        flow.deploy(dep, rel("v2"), DIRECT)
    assert store.read("staging") is None
    assert dep.ledger.history()[0].result == "broken"


def test_flow_records_broken_when_interrupted_after_traffic_moved():
    store = MemoryLockStore()
    target = FakeTarget(outcome(True, {"h1": "switched: v2 (green)"}), serving=rel("v1"))
    target.verify_error = KeyboardInterrupt()
    dep = deployment(target, store=store)
    with pytest.raises(KeyboardInterrupt):
        flow.deploy(dep, rel("v2"), DIRECT)
    assert store.read("staging") is None
    (entry,) = dep.ledger.history()
    assert entry.result == "broken" and entry.hosts == {"h1": "switched: v2 (green)"}
    assert "v2 was not verified" in entry.notes[1] and dep.ledger.last_good() is None


def test_flow_refuses_when_locked_and_changes_nothing():
    store = MemoryLockStore()
    DeployLock(store, "staging").acquire(reason="other deploy")
    target = FakeTarget(outcome(True, {}))
    dep = deployment(target, store=store)
    with pytest.raises(LockHeld):
        flow.deploy(dep, rel("v2"), DIRECT)
    assert target.deployed == [] and dep.ledger.history() == []


def test_rollback_goes_to_last_good_or_named_version():
    ledger = Ledger(MemoryLedgerStore(), "staging")
    ledger.record("deploy", rel("v1"), "succeeded")
    ledger.record("deploy", rel("v2"), "succeeded", previous=rel("v1"))
    target = FakeTarget(outcome(True, {"h1": "switched: v1 (blue)"}), serving=rel("v2"))
    dep = deployment(target, ledger)
    done = flow.rollback(dep, None, DIRECT)
    assert target.deployed[-1].version == "v1" and done.exit_code == ExitCode.OK
    assert ledger.history()[0].action == "rollback"
    flow.rollback(dep, "v2", DIRECT)
    assert target.deployed[-1].version == "v2"
    with pytest.raises(ConfigError, match="not in the ledger"):
        flow.rollback(dep, "v9", DIRECT)


def test_rollback_without_history_is_bad_input():
    with pytest.raises(ConfigError, match="no earlier good release"):
        flow.rollback(deployment(FakeTarget(serving=rel("v1"))), None, DIRECT)


# -- approval ---------------------------------------------------------------------------
def approving(target, **values):
    from shipwright.settings import Source

    values = {"DEPLOY_KEEP_IMAGES": "2", "DEPLOY_APPROVAL": "required", **values}
    settings = Settings("staging", values, {k: Source("--set") for k in values}, Path.cwd())
    ledger = Ledger(MemoryLedgerStore(), "staging")
    lock = DeployLock(MemoryLockStore(), "staging", on_break=ledger.record_lock_break)
    return Deployment(settings, Runner(echo=False), target, ledger, lock)


def test_approval_needed_and_no_terminal_refuses_before_anything_changes():
    target = FakeTarget(Outcome(True, rel("v2")), serving=rel("v1"))
    dep = approving(target)
    with pytest.raises(ConfigError, match="needs approval .*pass --yes"):
        flow.deploy(dep, rel("v2"), flow.Options(gates=False))
    assert target.deployed == [] and dep.ledger.history() == []
    assert dep.lock.store.read("staging") is None


def test_approval_by_yes_or_the_typed_name_is_recorded():
    target = FakeTarget(Outcome(True, rel("v2")), serving=rel("v1"))
    dep = approving(target)
    flow.deploy(dep, rel("v2"), flow.Options(gates=False, yes=True))
    assert dep.ledger.history()[0].approved_by.endswith("(--yes)")
    asked = []
    flow.rollback(dep, rel("v1"), flow.Options(ask=lambda q: asked.append(q) or "staging"))
    assert "type the environment's name" in asked[0]
    assert "typed 'staging'" in dep.ledger.history()[0].approved_by


def test_a_wrong_name_at_the_prompt_changes_nothing():
    target = FakeTarget(Outcome(True, rel("v2")), serving=rel("v1"))
    dep = approving(target)
    with pytest.raises(ShipwrightError, match="not approved") as err:
        flow.deploy(dep, rel("v2"), flow.Options(gates=False, ask=lambda q: "production"))
    assert err.value.exit_code == ExitCode.FAILED
    assert target.deployed == [] and dep.ledger.history() == []


def test_production_needs_approval_unless_the_setting_says_none():
    from shipwright import approval

    assert approval.required(Settings("production", {}, {}, Path.cwd()))
    assert not approval.required(Settings("staging", {}, {}, Path.cwd()))
    assert not approval.required(
        Settings("production", {"DEPLOY_APPROVAL": "none"}, {}, Path.cwd())
    )
