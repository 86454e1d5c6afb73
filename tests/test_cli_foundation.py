"""The Invoke surface end to end: collection loading, env tasks, exit codes."""

import json
import subprocess
import sys

from helpers import ROOT, invoke


def test_invoke_list_from_root_and_subfolder():
    for cwd in (ROOT, ROOT / "envs", ROOT / "app"):
        result = invoke("--list", cwd=cwd)
        assert result.code == 0, result.output
        for name in ("env.check", "lint", "test.unit", "test.integration", "audit"):
            assert name in result.stdout


def test_tasks_package_imports_and_stays_light():
    code = (
        "import sys, tasks, tasks.env, tasks.lint; "
        "heavy = [m for m in ('boto3', 'docker', 'fabric', 'kubernetes') if m in sys.modules]; "
        "print(heavy)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_env_check_ok_and_show_json_has_provenance():
    assert invoke("env.check", "--env", "development").code == 0
    shown = invoke("env.show", "--env", "development", "--json")
    assert shown.code == 0, shown.output
    rows = {row["key"]: row for row in json.loads(shown.stdout)["variables"]}
    assert rows["LOG_LEVEL"]["source"].startswith("envs/.env.development:")
    assert rows["MONGO_URI"]["value"] == "********"


def test_bad_environment_exits_2_with_one_line_per_problem():
    result = invoke(
        "env.check",
        "--env",
        "production",
        env={"STRIPE_SECRET_KEY": "sk_test_abcdef", "LOG_LEVEL": "info"},
    )
    assert result.code == 2
    problems = [line for line in result.stderr.splitlines() if line.strip().startswith("✘ ")]
    assert any("sk_live_" in p for p in problems)
    assert any("LOG_LEVEL must be warn" in p for p in problems)
    assert any("MONGO_URI is required in production" in p for p in problems)
    unknown = invoke("env.check", "--env", "nope")
    assert unknown.code == 2 and "known environments are" in unknown.stderr


def test_env_diff_masks_secrets():
    result = invoke(
        "env.diff",
        "development",
        "test",
        "--json",
        env={"MONGO_URI": "mongodb://u:pw-should-not-show@h/x"},
    )
    assert result.code == 0
    assert "pw-should-not-show" not in result.output
