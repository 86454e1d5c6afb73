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
        "--env",
        "development",
        "--against",
        "test",
        "--json",
        env={"MONGO_URI": "mongodb://u:pw-should-not-show@h/x"},
    )
    assert result.code == 0
    assert "pw-should-not-show" not in result.output


def test_every_task_answers_help():
    listed = json.loads(invoke("--list", "--list-format", "json").stdout)
    names = [t["name"] for t in listed["tasks"]]
    names += [f"{c['name']}.{t['name']}" for c in listed["collections"] for t in c["tasks"]]
    assert {"deploy", "rollback", "run", "status", "history", "logs"} <= set(names)
    for name in names:
        result = invoke(name, "--help")
        assert result.code == 0, f"invoke {name} --help: {result.output}"
        assert "Usage:" in result.stdout and "unknown environment" not in result.output


PRODUCTION = {  # valid production settings (no secrets file exists in a checkout)
    "NODE_ENV": "production",
    "LOG_LEVEL": "warn",
    "MONGO_URI": "mongodb://app:pw@127.0.0.1:1/learinal",
    "REDIS_URI": "redis://127.0.0.1:1",
    "JWT_SECRET": "j" * 40,
    "JWT_REFRESH_SECRET": "r" * 40,
    "STRIPE_SECRET_KEY": "sk_live_0123456789",
    "STRIPE_WEBHOOK_SECRET": "whsec_0123456789",
    "SENTRY_DSN": "https://key@127.0.0.1:1/1",
}


def test_a_dry_run_shows_every_gate_even_when_the_version_cannot_be_resolved(tmp_path):
    env = {
        **PRODUCTION,
        "GITHUB_HEAD_REF": "feature/x",
        "DEPLOY_TARGET": "local",
        "SHIPWRIGHT_STATE_DIR": str(tmp_path),
    }
    result = invoke("deploy", "--env", "production", "--dry-run", env=env)
    assert result.code == 2, result.output  # the version: no pushed image for the branch
    assert "✘ branch: feature/x is CI only" in result.stdout
    assert "✘ CI passed" in result.stdout or "✘ no critical vulnerability" in result.stdout
    assert "no pushed image for branch 'feature/x'" in result.stderr


def test_bad_input_is_refused_before_any_lock_or_notice(tmp_path):
    """--image without a digest: exit 2 before the lock, the ledger or a Slack notice --
    a receiver on loopback must get nothing."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    got = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            got.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    state = tmp_path / "state"
    try:
        result = invoke(
            "deploy",
            "--env",
            "development",
            "--image",
            "none",
            "--set",
            f"SLACK_WEBHOOK_URL=http://127.0.0.1:{server.server_address[1]}/hook",
            "--set",
            f"SHIPWRIGHT_STATE_DIR={state}",
        )
    finally:
        server.shutdown()
        server.server_close()
    assert result.code == 2, result.output
    assert "'none' has no sha256 digest" in result.stderr
    assert "→ deploy" not in result.stdout and got == []
    assert not state.exists()  # no lock, no ledger, no env file
