"""Preflight gates against tmp CI records and ledgers."""

from datetime import UTC, datetime, timedelta

import pytest

from shipwright import gates
from shipwright.domain import Release
from shipwright.ledger import Entry, Ledger, MemoryLedgerStore
from shipwright.stages.results import StageResult, record

pytestmark = pytest.mark.usefixtures("own_state")

NOW = datetime(2024, 12, 10, 12, 0, tzinfo=UTC)
SHA = "1a2b3c4d5e6f7a8b9c0d"


def ago(hours):
    return (NOW - timedelta(hours=hours)).isoformat(timespec="seconds")


def rel(version, sha="", environment="staging"):
    return Release(environment, version, f"repo/app:{version}", git_sha=sha, who="ci", when="t")


class Book:
    """A real Ledger over a memory store, with entries at chosen times."""

    def __init__(self, environment="staging"):
        self.store = MemoryLedgerStore()
        self.ledger = Ledger(self.store, environment)
        self.n = 0

    def add(self, action, version, result, hours_ago, previous=None, sha=""):
        self.n += 1
        when = ago(hours_ago)
        entry = Entry(
            action=action,
            result=result,
            release=rel(version, sha).to_dict(),
            when=when,
            id=f"{when}-{self.n:04d}",
            previous=rel(previous).to_dict() if previous else None,
        )
        self.store.append(self.ledger.environment, entry.to_dict())
        return self


# -- branch ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("branch", "env", "ok"),
    [
        ("develop", "staging", True),
        ("main", "production", True),
        ("refs/heads/main", "production", True),
        ("develop", "production", False),
        ("main", "staging", False),
        ("feature/login", "staging", False),
        ("feature/login", "production", False),
        ("feature/login", "development", True),  # no rule for local environments
    ],
)
def test_branch_rules(branch, env, ok):
    assert gates.branch_gate(branch, env).ok is ok


def test_feature_branch_says_ci_only_and_override_is_reported():
    check = gates.branch_gate("feature/x", "staging")
    assert not check.ok and "CI only" in check.detail
    overridden = gates.branch_gate("feature/x", "staging", override=True)
    assert overridden.ok and overridden.detail.startswith("OVERRIDDEN")


# -- CI record and audit -------------------------------------------------------------------
def stage(name, *steps):
    result = StageResult(name)
    for step in steps:
        result.steps.append(step)
    return result


def write_record(root, **stages):
    from shipwright.stages.results import StepResult

    for name, steps in stages.items():
        record(stage(name, *[StepResult(n, ok, d) for n, ok, d in steps]), SHA, root)


GREEN = {
    "lint": [("eslint", True, "")],
    "test.unit": [("npm run test:unit", True, "")],
    "test.coverage": [("npm run test:coverage", True, "")],
    "audit": [
        ("npm audit", True, "2 moderate"),
        ("pip-audit", True, "no known vulnerabilities"),
        ("snyk", None, "skipped: SNYK_TOKEN is not set"),
    ],
}


def test_ci_and_audit_pass_on_a_green_record(tmp_path):
    write_record(tmp_path, **GREEN)
    ci = gates.ci_gate(SHA, root=tmp_path)
    audit = gates.audit_gate(SHA, root=tmp_path)
    assert ci.ok, ci.detail
    assert audit.ok and "not run: snyk" in audit.detail


def test_missing_and_failed_stages_fail_ci(tmp_path):
    write_record(tmp_path, lint=[("eslint", False, "3 errors")], audit=GREEN["audit"])
    check = gates.ci_gate(SHA, root=tmp_path)
    assert not check.ok
    assert "failed: lint" in check.detail
    assert "test.unit" in check.detail and "test.integration or test.coverage" in check.detail


def test_no_record_at_all_fails(tmp_path):
    assert not gates.ci_gate(SHA, root=tmp_path).ok
    assert not gates.audit_gate(SHA, root=tmp_path).ok
    assert not gates.ci_gate("unknown", root=tmp_path).ok


def test_critical_vulnerability_fails_audit(tmp_path):
    audit = [("npm audit", False, "1 critical, 2 high"), ("pip-audit", True, "")]
    write_record(tmp_path, **{**GREEN, "audit": audit})
    check = gates.audit_gate(SHA, root=tmp_path)
    assert not check.ok and "npm audit: 1 critical" in check.detail


# -- staging soak --------------------------------------------------------------------------
def soak(book, version="develop-abc", hours=24, sha=""):
    return gates.soak_gate(book.ledger, version, hours=hours, git_sha=sha, now=NOW)


def test_soak_passes_when_still_serving_long_enough():
    book = (
        Book()
        .add("deploy", "develop-old", "succeeded", 100)
        .add("deploy", "develop-abc", "succeeded", 30)
    )
    check = soak(book)
    assert check.ok and "30.0 h" in check.detail and "still serving" in check.detail


def test_soak_fails_when_too_recent():
    book = Book().add("deploy", "develop-abc", "succeeded", 3)
    check = soak(book)
    assert not check.ok and "3.0 h" in check.detail and "needs 24 h" in check.detail


def test_soak_passes_when_superseded_after_serving_long_enough():
    book = (
        Book()
        .add("deploy", "develop-abc", "succeeded", 60)
        .add("deploy", "develop-new", "succeeded", 10)
    )
    check = soak(book)
    assert check.ok and "50.0 h" in check.detail and "develop-new replaced it" in check.detail


def test_soak_fails_when_superseded_too_soon():
    book = (
        Book()
        .add("deploy", "develop-abc", "succeeded", 60)
        .add("deploy", "develop-new", "succeeded", 58)
    )
    assert not soak(book).ok


def test_soak_fails_when_rolled_back():
    book = (
        Book()
        .add("deploy", "develop-old", "succeeded", 100)
        .add("deploy", "develop-abc", "succeeded", 50)
        .add("rollback", "develop-old", "succeeded", 20, previous="develop-abc")
    )
    check = soak(book)
    assert not check.ok and "rolled back" in check.detail


def test_soak_fails_when_deploy_was_rolled_back_by_the_watch():
    book = Book().add("deploy", "develop-abc", "rolled_back", 50)
    assert not soak(book).ok


def test_soak_ignores_failed_deploys_of_others_and_matches_by_commit():
    book = (
        Book()
        .add("deploy", "develop-abc", "succeeded", 40, sha=SHA)
        .add("deploy", "develop-zzz", "failed", 20)  # nothing changed: abc still served
    )
    # production's tag differs (main-abc), the commit is the same
    check = soak(book, version="main-abc", sha=SHA)
    assert check.ok and "40.0 h" in check.detail
    assert not soak(Book(), version="main-abc").ok  # never on staging


def test_soak_zero_hours_disables_it():
    assert gates.soak_gate([], "v", hours=0).ok


def test_soak_reads_plain_dict_entries():
    entries = [
        {"action": "deploy", "result": "succeeded", "release": {"version": "v1"}, "when": ago(48)},
    ]
    assert gates.soak_gate(entries, "v1", hours=24, now=NOW).ok


# -- rollback target -------------------------------------------------------------------------
def test_rollback_target_from_the_ledger():
    book = (
        Book("production")
        .add("deploy", "main-1", "succeeded", 50)
        .add("deploy", "main-2", "succeeded", 10)
    )
    check = gates.rollback_target_gate(book.ledger, "main-3")
    assert check.ok and check.detail.startswith("main-2")


def test_rolled_back_release_is_not_a_target():
    book = (
        Book("production")
        .add("deploy", "main-1", "succeeded", 50)
        .add("deploy", "main-2", "succeeded", 10)
        .add("rollback", "main-1", "succeeded", 9, previous="main-2")
    )
    check = gates.rollback_target_gate(book.ledger, "main-3")
    assert check.ok and check.detail.startswith("main-1")


def test_first_deploy_is_noted_not_refused():
    check = gates.rollback_target_gate(Book("production").ledger, "main-1")
    assert check.ok and "first deploy" in check.detail


def test_nothing_good_to_return_to_fails():
    book = Book("production").add("deploy", "main-1", "broken", 5)
    assert not gates.rollback_target_gate(book.ledger, "main-2").ok
    current = rel("main-0", environment="production")
    assert gates.rollback_target_gate(book.ledger, "main-2", current=current).ok


def test_plain_list_ledgers_work_too():
    entries = [
        {"action": "deploy", "result": "succeeded", "release": {"version": "a"}, "when": ago(5)},
        {"action": "deploy", "result": "succeeded", "release": {"version": "b"}, "when": ago(2)},
    ]
    check = gates.rollback_target_gate(entries, "c")
    assert check.ok and check.detail.startswith("b")


# -- all together ----------------------------------------------------------------------------
def test_preflight_evaluates_every_gate(tmp_path, capsys):
    write_record(tmp_path, **GREEN)
    staging = Book().add("deploy", "main-abc", "succeeded", 2, sha=SHA)
    production = Book("production").add("deploy", "main-old", "succeeded", 100)
    checks = gates.preflight(
        environment="production",
        release=rel("main-abc", SHA, "production"),
        branch="feature/x",
        ledger=production.ledger,
        staging_ledger=staging.ledger,
        soak_hours=24,
        root=tmp_path,
        now=NOW,
    )
    names = [c.name for c in checks]
    assert names == [
        "branch",
        "CI passed",
        "no critical vulnerability",
        "staging soak ≥ 24 h",
        "rollback target",
    ]
    assert [c.ok for c in checks] == [False, True, True, False, True]
    gates.report(checks)
    out = capsys.readouterr().out
    assert out.count("✘") == 2 and out.count("✔") == 3


def test_preflight_for_staging_has_no_soak(tmp_path):
    write_record(tmp_path, **GREEN)
    checks = gates.preflight(
        environment="staging",
        release=rel("develop-abc", SHA),
        branch="develop",
        ledger=Book().ledger,
        root=tmp_path,
    )
    assert checks.ok and all("soak" not in c.name for c in checks)


UNAUDITED = {
    **GREEN,
    "audit": [
        ("npm audit", None, "could not audit: 405 Method Not Allowed - POST …/advisories/bulk"),
        ("pip-audit", None, "could not audit: none of 40 packages could be audited"),
        ("snyk", None, "skipped: SNYK_TOKEN is not set"),
    ],
}


def test_could_not_audit_blocks_production_unless_overridden(tmp_path):
    write_record(tmp_path, **UNAUDITED)
    refused = gates.audit_gate(SHA, environment="production", root=tmp_path)
    assert not refused.ok and "could not audit: npm audit, pip-audit" in refused.detail
    assert "clean" not in refused.detail and "--override-audit" in refused.detail
    overridden = gates.audit_gate(SHA, environment="production", override=True, root=tmp_path)
    assert overridden.ok and overridden.detail.startswith("OVERRIDDEN")
    staging = gates.audit_gate(SHA, environment="staging", root=tmp_path)
    assert staging.ok and "not blocking in staging" in staging.detail
    assert "could not audit" in staging.detail


def test_stage_records_of_three_ci_jobs_merge_into_one_record(tmp_path, monkeypatch):
    """What download-artifact with merge-multiple does: each job's state folder
    (lint, test, audit on three machines) copied into one; every stage survives."""
    import shutil

    for job, stages in {
        "lint": ["lint"],
        "test": ["test.unit", "test.coverage"],
        "audit": ["audit"],
    }.items():
        monkeypatch.setenv("SHIPWRIGHT_STATE_DIR", str(tmp_path / job / ".shipwright"))
        write_record(tmp_path / job, **{name: GREEN[name] for name in stages})
        shutil.copytree(
            tmp_path / job / ".shipwright" / "ci", tmp_path / "merged", dirs_exist_ok=True
        )
    monkeypatch.setenv("SHIPWRIGHT_STATE_DIR", str(tmp_path / "deploy"))
    shutil.copytree(tmp_path / "merged", tmp_path / "deploy" / "ci")
    check = gates.ci_gate(SHA, root=tmp_path)
    assert check.ok, check.detail
    assert "audit, lint, test.coverage, test.unit passed" in check.detail
