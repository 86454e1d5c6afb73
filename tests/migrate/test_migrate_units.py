"""Pure logic of the migration engine: module headers, planning, the phase rules, the
"database migrations tested" gate and refusals that need no server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shipwright.domain import Release
from shipwright.errors import ConfigError
from shipwright.ledger import Ledger, MemoryLedgerStore
from shipwright.migrate import rules
from shipwright.migrate.changelog import Applied
from shipwright.migrate.discovery import discover
from shipwright.migrate.engine import plan_up
from shipwright.migrate.gate import untested
from shipwright.migrate.state import MigrationState

HEADER = "// @phase {phase}\n// @collections users\n{extra}module.exports = {{}};\n"


def write(folder, name, phase="expand", extra=""):
    (folder / f"{name}.js").write_text(HEADER.format(phase=phase, extra=extra))


def test_bad_modules_get_one_message_naming_each_file_and_problem(tmp_path):
    write(tmp_path, "0001-ok")
    (tmp_path / "Add-Thing.js").write_text("")
    write(tmp_path, "0002-no-phase", phase="sideways")
    write(tmp_path, "0003-contract", phase="contract")
    write(tmp_path, "0001-same-prefix")
    (tmp_path / "0004-odd-tag.js").write_text(
        "// @phase expand\n// @collections u\n// @color red\n"
    )
    with pytest.raises(ConfigError) as err:
        discover(tmp_path)
    text = str(err.value)
    assert "5 problem(s)" in text
    assert "Add-Thing.js: not a migration name" in text
    assert "0002-no-phase.js: declare // @phase" in text
    assert "0003-contract.js: a contract migration names the release" in text
    assert "prefix 1 is also" in text
    assert "0004-odd-tag.js:3: unknown tag @color" in text


def test_modules_are_ordered_by_their_numeric_prefix(tmp_path):
    write(tmp_path, "10-later")
    write(tmp_path, "9-earlier")
    write(tmp_path, "0011-last", extra="// @irreversible\n")
    found = discover(tmp_path)
    assert [m.name for m in found] == ["9-earlier", "10-later", "0011-last"]
    assert not found[-1].reversible and found[0].collections == ("users",)


def applied(name, checksum="c", phase="expand"):
    return Applied(name, checksum, phase, datetime.now(UTC), "me", "v1", 0.1)


def test_up_stops_before_a_backfill_and_refuses_to_jump_over_it(tmp_path):
    write(tmp_path, "0001-a")
    write(tmp_path, "0002-b", phase="backfill")
    write(tmp_path, "0003-c")
    state = MigrationState(discover(tmp_path), {})
    plan, stopped = plan_up(state)
    assert [m.name for m in plan] == ["0001-a"] and "0002-b" in stopped
    with pytest.raises(ConfigError, match="comes after the backfill 0002-b"):
        plan_up(state, "0003-c")
    done = MigrationState(
        state.migrations, {"0001-a": applied("0001-a", state.migrations[0].checksum)}
    )
    with pytest.raises(ConfigError, match="already applied"):
        plan_up(done, "0001-a")


def ledger_with(*steps: tuple[str, float]) -> Ledger:
    """Deploys that succeeded, ``hours_ago`` each, oldest first."""
    store = MemoryLedgerStore()
    ledger = Ledger(store, "production")
    now = datetime.now(UTC)
    for version, hours_ago in steps:
        entry = ledger.record("deploy", Release("production", version, f"r@{version}"), "succeeded")
        store.entries["production"][-1]["when"] = (now - timedelta(hours=hours_ago)).isoformat()
        del entry
    return ledger


def serving(version):
    return Release("production", version, f"r@{version}")


def test_contract_waits_for_the_soak_and_for_no_older_rollback_target():
    ledger = ledger_with(("v1.1", 50), ("v1.2", 30))
    why = rules.contract_refusal("drop", "v1.2", ledger, serving("v1.2"), hours=24)
    assert why and "v1.1, the rollback target" in why
    ledger = ledger_with(("v1.1", 50), ("v1.2", 10), ("v1.3", 2))
    why = rules.contract_refusal("drop", "v1.2", ledger, serving("v1.3"), hours=24)
    assert why and "serve healthy 24 h" in why and "in production" in why
    ledger = ledger_with(("v1.1", 80), ("v1.2", 60), ("v1.3", 30))
    assert rules.contract_refusal("drop", "v1.2", ledger, serving("v1.3"), hours=24) is None
    why = rules.contract_refusal("drop", "v9", ledger, serving("v1.3"), hours=24)
    assert why and "never served" in why


def test_a_rollback_to_a_release_older_than_an_applied_contract_is_refused():
    ledger = ledger_with(("v1.1", 80), ("v1.2", 60), ("v1.3", 30))
    contracts = {"0004-drop-user-email": "v1.2"}
    assert "predates the applied contract" in rules.rollback_refusal("v1.1", contracts, ledger)
    assert rules.rollback_refusal("v1.2", contracts, ledger) is None
    assert rules.rollback_refusal("v1.3", contracts, ledger) is None
    assert rules.rollback_refusal("v1.1", {}, ledger) is None


def test_the_tested_gate_needs_up_and_down_on_staging_with_the_same_checksum(tmp_path):
    write(tmp_path, "0001-rev")
    write(tmp_path, "0002-oneway", extra="// @irreversible\n")
    pending = discover(tmp_path)
    rev, oneway = pending

    def run(m, direction, checksum=None):
        return {
            "name": m.name,
            "checksum": checksum or m.checksum,
            "direction": direction,
            "result": "applied",
        }

    assert untested(pending, []) == [
        "0001-rev never ran up or down on staging",
        "0002-oneway never ran up on staging",
    ]
    assert untested(pending, [run(rev, "up"), run(oneway, "up")]) == [
        "0001-rev never ran down on staging"
    ]
    runs = [run(rev, "up"), run(rev, "down"), run(oneway, "up", checksum="other")]
    assert untested(pending, runs) == ["0002-oneway never ran up on staging"]
    assert untested(pending, runs[:2] + [run(oneway, "up")]) == []


def test_restore_in_production_needs_the_confirmation_flag(tmp_path, monkeypatch):
    import json

    from shipwright.migrate import commands
    from shipwright.runner import Runner
    from shipwright.settings import load_settings

    settings = load_settings(
        "production", overrides={"MIGRATE_BACKUP_DIR": str(tmp_path)}, environ={}, validate=False
    )
    (tmp_path / "b1.json").write_text(
        json.dumps(
            {
                "id": "b1",
                "location": str(tmp_path / "b1"),
                "tool": "pymongo",
                "database": "x",
                "collections": ["users"],
                "created": "now",
            }
        )
    )
    with pytest.raises(ConfigError, match="confirm with --yes"):
        commands.restore(settings, Runner(), "b1")
    with pytest.raises(ConfigError, match="no backup 'b2'"):
        commands.restore(settings, Runner(), "b2")


@pytest.mark.parametrize(
    "args", [("migrate.down", "--steps", "0"), ("migrate.backfill", "--batch", "x")]
)
def test_a_count_that_is_not_a_whole_number_is_refused_before_anything_opens(args):
    from helpers import invoke

    result = invoke(*args, "--env", "test", env={"MONGO_URI": "mongodb://127.0.0.1:1/none"})
    assert result.code == 2, result.output
    assert f"{args[1]} must be a whole number ≥ 1, not '{args[2]}'" in result.output
    assert "mongo" not in result.output.lower()
