"""The deployment metrics table and the postmortem skeleton."""

import json
from datetime import UTC, datetime

import pytest

from shipwright import metrics_report as report
from shipwright.domain import Release
from shipwright.ledger import Entry
from shipwright.postmortem import CHECKLIST, write_postmortem
from shipwright.redact import MASK, REDACTOR

pytestmark = pytest.mark.usefixtures("own_state")


def statuses(rows):
    return {row.limit.metric: row.status for row in rows}


@pytest.mark.parametrize(
    ("kwargs", "metric", "expected"),
    [
        ({"deployment_seconds": 599}, "Deployment Time", report.MET),
        ({"deployment_seconds": 600}, "Deployment Time", report.WITHIN),
        ({"deployment_seconds": 1199}, "Deployment Time", report.WITHIN),
        ({"deployment_seconds": 1200}, "Deployment Time", report.BEYOND),
        ({"downtime_seconds": 0}, "Downtime", report.MET),
        ({"downtime_seconds": 0.4}, "Downtime", report.WITHIN),
        ({"downtime_seconds": 30}, "Downtime", report.BEYOND),
        ({"error_spike": 1.9}, "Error Spike", report.MET),
        ({"error_spike": 4.9}, "Error Spike", report.WITHIN),
        ({"error_spike": 5.0}, "Error Spike", report.BEYOND),
        ({"rollback_seconds": 42}, "Rollback Time", report.MET),
        ({"rollback_seconds": 420}, "Rollback Time", report.WITHIN),
        ({"rollback_seconds": 601}, "Rollback Time", report.BEYOND),
        ({}, "Rollback Time", report.UNMEASURED),
    ],
)
def test_each_row_against_target_and_critical(kwargs, metric, expected):
    assert statuses(report.evaluate(**kwargs))[metric] == expected


def test_table_json_and_step_summary(tmp_path, monkeypatch, capsys):
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    monkeypatch.setenv("COLUMNS", "160")  # wide enough for whole cells, whoever runs it
    rows = report.evaluate(deployment_seconds=312, downtime_seconds=0, error_spike=1.2)
    report.render(rows)
    out = capsys.readouterr().out
    assert "Deployment Time" in out and "5 min 12 s" in out and "✔ target met" in out
    assert "– not measured" in out
    markdown = summary.read_text()
    assert "| Metric | Measured | Target | Critical | Status |" in markdown
    assert "| Downtime | 0 s | 0 sec | < 30 sec | ✔ target met |" in markdown
    assert "| Error Spike | 1.2x | < 2x baseline | < 5x baseline | ✔ target met |" in markdown

    report.render(rows, json=True)
    data = json.loads(capsys.readouterr().out)
    assert data["metrics"]["deployment_seconds"] == {
        "metric": "Deployment Time",
        "value": 312,
        "target": "< 10 min",
        "critical": "< 20 min",
        "status": report.MET,
    }
    assert data["worst"] == report.MET


def test_worst_status():
    rows = report.evaluate(deployment_seconds=100, downtime_seconds=45)
    assert report.worst(rows) == report.BEYOND


def test_rows_from_a_ledger_entry():
    deploy = Entry(
        "deploy",
        "succeeded",
        {"version": "v2"},
        phases={"pull": 40.0, "switch": 20.0, "verify": 15.5},
        metrics={"downtime_seconds": 0, "watch": {"spike": 2.5}},
    )
    rows = statuses(report.from_entry(deploy))
    assert rows == {
        "Deployment Time": report.MET,
        "Downtime": report.MET,
        "Error Spike": report.WITHIN,
        "Rollback Time": report.UNMEASURED,
    }
    rollback = {"action": "rollback", "phases": {"switch": 700}, "metrics": {}}
    assert statuses(report.from_entry(rollback))["Rollback Time"] == report.BEYOND


# -- postmortem --------------------------------------------------------------------------
def test_postmortem_skeleton(tmp_path):
    REDACTOR.add("pm-canary-secret-9f3")
    bad = Release("production", "main-bad", "repo/app:main-bad@sha256:abc", "bad123", "alice", "t1")
    good = Release("production", "main-good", "repo/app:main-good", "good12", "bob", "t0")
    entries = [
        Entry(
            "rollback",
            "succeeded",
            good.to_dict(),
            when="2024-12-10T12:05:00+00:00",
            reason="watch: error rate 12%",
            phases={"switch": 8.0},
        ),
        Entry(
            "deploy",
            "rolled_back",
            bad.to_dict(),
            when="2024-12-10T12:00:00+00:00",
            reason="release v2 (token pm-canary-secret-9f3)",
        ),
    ]
    metrics = {
        "verdict": "rollback",
        "error_rate": 0.12,
        "reasons": ["error rate 12.00% > 5.00%"],
        "samples": [{"elapsed": 10, "window": {"requests": 200, "error_rate": 0.12, "p95_ms": 80}}],
    }
    now = datetime(2024, 12, 10, 12, 6, tzinfo=UTC)
    path = write_postmortem(
        "production",
        bad,
        restored=good,
        entries=entries,
        metrics=metrics,
        reason="error rate above 5%",
        done=["execute", "Verify health endpoints"],
        root=tmp_path,
        now=now,
    )
    assert path.parent == tmp_path / ".shipwright" / "postmortems"
    assert path.name == "20241210T120600Z-production-main-bad.md"
    text = path.read_text()
    assert text.startswith("# Postmortem: main-bad rolled back on production")
    assert "`main-good`" in text
    # timeline oldest first
    assert text.index("| 2024-12-10T12:00:00+00:00 | deploy") < text.index(
        "| 2024-12-10T12:05:00+00:00 | rollback"
    )
    for _, item in CHECKLIST:
        assert item in text
    assert "- [x] Execute rollback command" in text and "- [x] Verify health endpoints" in text
    assert "- [ ] Monitor for 15 minutes" in text
    assert "| error_rate | 0.12 |" in text and "- error rate 12.00% > 5.00%" in text
    assert "pm-canary-secret-9f3" not in text and MASK in text
    # a second rollback in the same second never overwrites the first
    again = write_postmortem("production", bad, root=tmp_path, now=now)
    assert again != path and again.name.endswith("-2.md")
