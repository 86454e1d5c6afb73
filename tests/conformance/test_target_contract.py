"""The Target contract, proven the same way on every target (see conftest.TARGETS).

Each test sets up what it needs itself (a deploy of a good release first), so the tests
hold in any order and alone. Deploys go through the one flow as ``invoke deploy
--no-gates --no-watch`` runs it (shipwright.flow.commands), so the ledger, lock and exit
codes are the ones a user gets.
"""

from __future__ import annotations

import threading

import pytest
from harness import Harness

from shipwright.domain import Release, Status
from shipwright.errors import ExitCode, ShipwrightError
from shipwright.flow import commands
from shipwright.flow.session import opened
from shipwright.ledger import Entry
from shipwright.lock import DeployLock, LockHeld
from shipwright.runner import Runner

pytestmark = pytest.mark.integration


def deploy(h: Harness, release: Release) -> int:
    """The exit code of an ungated, unwatched deploy of ``release``."""
    try:
        commands.deploy(h.settings, Runner(echo=False), release=release, gates=False, watch=False)
    except ShipwrightError as exc:
        return int(exc.exit_code)
    return 0


def serving(h: Harness) -> str | None:
    with opened(h.settings, Runner(echo=False), staging=False) as dep:
        current = dep.target.current()
    return current.version if current else None


def newest(h: Harness) -> Entry:
    with opened(h.settings, Runner(echo=False), staging=False) as dep:
        return dep.ledger.history(limit=1)[0]


def ensure(h: Harness, release: Release) -> None:
    if serving(h) != release.version:
        assert deploy(h, release) == 0, f"{h.name}: could not deploy {release.version}"
    assert serving(h) == release.version


def test_deploy_makes_the_release_current_and_is_recorded(harness: Harness, request):
    harness.require(request)
    first, second = harness.good
    ensure(harness, first)
    assert deploy(harness, second) == 0
    assert serving(harness) == second.version
    entry = newest(harness)
    assert (entry.action, entry.result, entry.version) == ("deploy", "succeeded", second.version)
    assert entry.previous["version"] == first.version
    assert entry.gates is None  # ungated, and the ledger says so


def test_rollback_returns_to_the_previous_release(harness: Harness, request):
    harness.require(request)
    first, second = harness.good
    ensure(harness, first)
    assert deploy(harness, second) == 0
    commands.rollback(harness.settings, Runner(echo=False), reason="conformance")
    assert serving(harness) == first.version
    entry = newest(harness)
    assert (entry.action, entry.result, entry.version) == ("rollback", "succeeded", first.version)
    assert entry.previous["version"] == second.version


def test_a_failed_deploy_leaves_the_previous_release_serving(harness: Harness, request):
    harness.require(request)
    first = harness.good[0]
    ensure(harness, first)
    assert deploy(harness, harness.bad) == harness.bad_exit
    assert serving(harness) == first.version
    entry = newest(harness)
    # Exit 3: traffic had moved and the previous release serves again -- put back by the
    # target itself ("restored") or by the flow after its own verify ("rolled_back").
    expected = {ExitCode.FAILED: {"failed"}, ExitCode.RESTORED: {"restored", "rolled_back"}}
    assert (entry.action, entry.version) == ("deploy", harness.bad.version)
    assert entry.result in expected[harness.bad_exit], entry.result


def test_a_held_lock_refuses_a_second_deploy(harness: Harness, request):
    harness.require(request)
    first, second = harness.good
    ensure(harness, first)
    with opened(harness.settings, Runner(echo=False), staging=False) as dep:
        other = DeployLock(dep.target.lock_store(), harness.settings.environment)
        other.acquire(version="other", reason="conformance: someone else deploys")
        try:
            with pytest.raises(LockHeld, match="someone else deploys"):
                commands.deploy(
                    harness.settings, Runner(echo=False), release=second, gates=False, watch=False
                )
        finally:
            other.release()
    assert serving(harness) == first.version


def test_two_deploys_started_at_once_exactly_one_proceeds(harness: Harness, request):
    harness.require(request)
    first, second = harness.good
    ensure(harness, first)
    codes: dict[str, int | str] = {}
    start = threading.Barrier(2)

    def one(name: str) -> None:
        start.wait()
        try:
            commands.deploy(
                harness.settings, Runner(echo=False), release=second, gates=False, watch=False
            )
            codes[name] = 0
        except LockHeld:
            codes[name] = "lock held"
        except ShipwrightError as exc:
            codes[name] = int(exc.exit_code)

    threads = [threading.Thread(target=one, args=(n,)) for n in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    assert sorted(map(str, codes.values())) == ["0", "lock held"], codes
    assert serving(harness) == second.version


def test_run_returns_the_commands_real_exit_code_and_output(harness: Harness, request):
    harness.require(request)
    first = harness.good[0]
    ensure(harness, first)
    with opened(harness.settings, Runner(echo=False), staging=False) as dep:
        result = dep.target.run(first, harness.command)
    assert result.exit_code == 3, result
    assert "conformance-42" in result.output


def test_status_and_logs_answer(harness: Harness, capfd, request):
    harness.require(request)
    first = harness.good[0]
    ensure(harness, first)
    with opened(harness.settings, Runner(echo=False), staging=False) as dep:
        state = dep.target.status()
        dep.target.logs()
    assert isinstance(state, Status) and state.rows
    assert state.serving is not None and state.serving.version == first.version
    assert capfd.readouterr().out.strip()  # the serving app's log lines
