"""Stages 1-3 with the real tools: npm/ESLint/Prettier, ruff, a real Redis, npm audit."""

import json
import shutil
from pathlib import Path

import pytest
from helpers import ROOT, invoke, require

from shipwright.runner import Runner
from shipwright.stages import audit, lint
from shipwright.stages.results import StageResult, load_record

APP = ROOT / "app"
FIXTURES = ROOT / "tests" / "fixtures" / "audit"
pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def app_copy(tmp_path_factory) -> Path:
    """A copy of app/ (sharing node_modules) that a test may break."""
    require(shutil.which("npm") is not None, "npm is not installed")
    invoke("lint", "--no-project")  # installs node_modules once
    copy = tmp_path_factory.mktemp("app") / "app"
    shutil.copytree(APP, copy, ignore=shutil.ignore_patterns("node_modules", "coverage"))
    (copy / "node_modules").symlink_to(APP / "node_modules")
    return copy


def test_lint_passes_on_the_project_and_records_the_result():
    result = invoke("lint")
    assert result.code == 0, result.output
    assert "✔ lint: app: npm run lint" in result.stdout
    assert "✔ lint: project: ruff check" in result.stdout


def test_app_lint_violation_fails_the_stage(app_copy):
    bad = app_copy / "src" / "bad.js"
    bad.write_text("const unused = 1\n")
    try:
        result = StageResult("lint")
        lint.lint_app(Runner(), result, app_dir=app_copy)
    finally:
        bad.unlink()
    failed = {step.name for step in result.steps if step.ok is False}
    assert failed == {"app: npm run lint", "app: npm run format:check"}


def test_ruff_violation_fails_the_stage(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[tool.ruff]\n")
    (tmp_path / "bad.py").write_text("import os\nx=1\n")
    result = StageResult("lint")
    lint.lint_project(Runner(), result, root=tmp_path)
    assert [s.ok for s in result.steps] == [False, False]


def test_unit_and_integration_against_real_redis():
    require(shutil.which("redis-server") is not None, "redis-server is not installed")
    result = invoke("test.unit")
    assert result.code == 0, result.output
    result = invoke("test.integration")
    assert result.code == 0, result.output
    assert "✔ Redis:" in result.stdout
    assert "✔ test.integration: npm run test:integration" in result.stdout


def test_coverage_writes_report_and_skips_upload_without_token():
    result = invoke("test.coverage", env={"CODECOV_TOKEN": ""})
    assert result.code == 0, result.output
    assert "codecov upload — skipped: CODECOV_TOKEN is not set" in result.stdout
    assert any((APP / "coverage").iterdir())


def test_audit_never_reports_could_not_audit_as_clean():
    """npm pointed at a registry that refuses (a closed loopback port): the audit did not
    run, so its line must say so -- never ✔ -- and --strict must fail on it."""
    refused = {"npm_config_registry": "http://127.0.0.1:9/"}
    result = invoke("audit", env=refused)
    assert result.code == 0, result.output  # not critical: the stage continues
    npm = next(line for line in result.stdout.splitlines() if "audit: npm audit" in line)
    assert npm.startswith("–") and "could not audit" in npm, npm
    assert "no known vulnerabilities" not in npm
    strict = invoke("audit", "--strict", env=refused)
    assert strict.code == 1, strict.output
    assert "✘ audit: npm audit — could not audit" in strict.stdout


NPM_REPORT = {  # npm audit --json (npm 7+ shape)
    "auditReportVersion": 2,
    "vulnerabilities": {},
    "metadata": {
        "vulnerabilities": {
            "info": 0,
            "low": 2,
            "moderate": 1,
            "high": 0,
            "critical": 0,
            "total": 3,
        }
    },
}


def test_audit_gating_from_documented_reports():
    findings = audit.parse_npm_audit(json.dumps(NPM_REPORT))
    result = StageResult("audit")
    audit.judge(result, findings, strict=False)
    assert result.ok and "2 low, 1 moderate" in findings.summary()

    NPM_REPORT["metadata"]["vulnerabilities"]["critical"] = 1
    critical = audit.parse_npm_audit(json.dumps(NPM_REPORT))
    result = StageResult("audit")
    audit.judge(result, critical, strict=False)
    assert not result.ok

    error = audit.parse_npm_audit(json.dumps({"error": {"code": "E405", "summary": "405"}}))
    result = StageResult("audit")
    audit.judge(result, error, strict=False)
    assert result.steps[0].ok is None and "could not audit" in error.summary()

    # npm 11's real answer when the advisory endpoint says 405: an error with an empty
    # summary, no metadata, exit 1 (recorded on this machine) -- never "clean".
    npm11 = audit.parse_npm_audit((FIXTURES / "npm-11-405.json").read_text(), 1)
    assert npm11.error and "405 Method Not Allowed" in npm11.summary()
    assert npm11.summary().startswith("could not audit")

    pip = audit.parse_pip_audit(
        json.dumps(
            {
                "dependencies": [
                    {
                        "name": "a",
                        "version": "1",
                        "vulns": [{"id": "PYSEC-1", "fix_versions": ["2"]}],
                    },
                    {"name": "b", "version": "1", "skip_reason": "could not be audited"},
                ]
            }
        )
    )
    assert pip.counts["unknown"] == 1 and pip.counts["not audited"] == 1
    none = audit.parse_pip_audit(
        json.dumps(
            {"dependencies": [{"name": "b", "version": "1", "skip_reason": "could not be audited"}]}
        )
    )
    assert none.error

    snyk = audit.parse_snyk(
        json.dumps({"vulnerabilities": [{"severity": "critical"}, {"severity": "medium"}]})
    )
    assert snyk.critical == 1 and snyk.counts["moderate"] == 1


def test_stage_results_are_recorded_per_commit():
    from shipwright.gitinfo import commit_sha

    invoke("lint", "--no-app")
    record = load_record(commit_sha())
    assert record["stages"]["lint"]["ok"] is True
