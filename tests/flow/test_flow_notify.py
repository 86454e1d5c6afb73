"""Slack and Sentry against local receivers: paths, methods, bodies, auth, redaction,
dry runs, and failures that never raise."""

import socket

import flowkit
import pytest
from helpers import project_root

from shipwright.domain import Release
from shipwright.notify import sentry, slack
from shipwright.redact import MASK
from shipwright.runner import Runner
from shipwright.settings import load_settings

# fixtures (see flowkit's docstring for why they are not in a conftest.py)
receiver = flowkit.receiver

CANARY = "sk_test_CANARY_never_leaves_7f3e9a"
TOKEN = "sntrys_token_for_the_header_only_4c2d"


@pytest.fixture
def make_settings(tmp_path):
    project_root(tmp_path)

    def make(**values):
        environ = {"STRIPE_SECRET_KEY": CANARY, **values}
        # load_settings registers every secret value with the redaction layer
        return load_settings("staging", root=tmp_path, environ=environ, validate=False)

    return make


RELEASE = Release(
    "staging", "develop-1a2b3c4", "repo/app:develop-1a2b3c4", "1a2b3c4d5e", "alice", "t"
)


def leaked(receiver_box, *secrets):
    return [s for r in receiver_box.requests for s in secrets if s in r.raw or s in r.path]


# -- Slack -------------------------------------------------------------------------------------
def test_slack_posts_each_event(receiver, make_settings, capsys):
    hook = receiver()
    settings = make_settings(SLACK_WEBHOOK_URL=f"{hook.url}/services/T000/B000/hooksecret")
    for event in ("started", "succeeded", "rolled_back", "failed"):
        assert (
            slack.notify(settings, event, RELEASE, duration=192, link="https://ci.example/run/1")
            is True
        )
    assert [(r.method, r.path) for r in hook.requests] == [
        ("POST", "/services/T000/B000/hooksecret")
    ] * 4
    assert all(r.headers["Content-Type"] == "application/json" for r in hook.requests)
    first = hook.requests[0].json
    assert first["text"].startswith(":rocket: Deploy of develop-1a2b3c4 to staging started")
    assert "alice" in first["text"] and "3m 12s" in first["text"]
    flat = str(first["blocks"])
    assert (
        "*Version*" in flat and "staging" in flat and "<https://ci.example/run/1|Details>" in flat
    )
    assert "was rolled back" in hook.requests[2].json["text"]
    assert "hooksecret" not in capsys.readouterr().out  # the webhook URL is never printed


def test_slack_payload_is_redacted(receiver, make_settings):
    hook = receiver()
    settings = make_settings(SLACK_WEBHOOK_URL=f"{hook.url}/hook")
    detail = f"migration failed: stripe said key {CANARY} is invalid"
    slack.notify(settings, "failed", RELEASE, detail=detail)
    assert leaked(hook, CANARY) == []
    assert MASK in hook.requests[0].raw


def test_slack_missing_setting_skips_with_one_line(make_settings, capsys):
    assert slack.notify(make_settings(), "succeeded", RELEASE) is None
    out = capsys.readouterr().out.strip().splitlines()
    assert out == ["– Slack: skipped (SLACK_WEBHOOK_URL is not set)"]


def test_slack_failure_prints_one_line_and_does_not_raise(receiver, make_settings, capsys):
    hook = receiver(status=500, reply="internal_error")
    settings = make_settings(SLACK_WEBHOOK_URL=f"{hook.url}/hook")
    capsys.readouterr()
    assert slack.notify(settings, "succeeded", RELEASE, runner=Runner(echo=False)) is False
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines == ["✘ Slack notification failed: HTTP 500: internal_error"]


def closed_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # nothing listens once the socket is closed


def test_unreachable_receivers_do_not_raise(make_settings, capsys):
    url = f"http://127.0.0.1:{closed_port()}"
    settings = sentry_settings(make_settings, url, SLACK_WEBHOOK_URL=f"{url}/hook")
    capsys.readouterr()
    quiet = Runner(echo=False)
    assert slack.notify(settings, "failed", RELEASE, runner=quiet) is False
    assert sentry.record_release(settings, RELEASE, runner=quiet) is False
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines == [
        "✘ Slack notification failed: connection refused",
        "✘ Sentry create release develop-1a2b3c4 failed: connection refused",
    ]


def test_slack_dry_run_plans_and_sends_nothing(receiver, make_settings):
    hook = receiver()
    settings = make_settings(SLACK_WEBHOOK_URL=f"{hook.url}/hook")
    runner = Runner(dry_run=True)
    assert slack.notify(settings, "started", RELEASE, runner=runner) is None
    assert hook.requests == []
    assert runner.plan == ["[api] POST Slack webhook: deploy started (develop-1a2b3c4 to staging)"]


# -- Sentry ------------------------------------------------------------------------------------
def sentry_settings(make_settings, url, **more):
    return make_settings(
        SENTRY_AUTH_TOKEN=TOKEN,
        SENTRY_ORG="acme",
        SENTRY_PROJECT="learinal-backend",
        SENTRY_URL=url,
        **more,
    )


def test_sentry_release_commits_deploy_and_finalize(receiver, make_settings, monkeypatch):
    monkeypatch.setenv("GITHUB_REPOSITORY", "acme/learinal-backend")
    api = receiver(status=201, reply="{}")
    settings = sentry_settings(make_settings, api.url)
    previous = Release("staging", "develop-0000000", "repo/app:develop-0000000", "0000000aaa")
    ok = sentry.record_release(
        settings, RELEASE, previous=previous, link=f"https://ci.example/?t={CANARY}"
    )
    assert ok is True
    base = "/api/0/organizations/acme/releases/"
    assert [(r.method, r.path) for r in api.requests] == [
        ("POST", base),
        ("PUT", f"{base}develop-1a2b3c4/"),
        ("POST", f"{base}develop-1a2b3c4/deploys/"),
        ("PUT", f"{base}develop-1a2b3c4/"),
    ]
    assert all(r.headers["Authorization"] == f"Bearer {TOKEN}" for r in api.requests)
    create, commits, deploy, final = (r.json for r in api.requests)
    assert create["version"] == "develop-1a2b3c4" and create["projects"] == ["learinal-backend"]
    assert create["ref"] == "1a2b3c4d5e"
    assert commits["commits"] == [{"id": "1a2b3c4d5e", "repository": "acme/learinal-backend"}]
    assert commits["refs"] == [
        {
            "repository": "acme/learinal-backend",
            "commit": "1a2b3c4d5e",
            "previousCommit": "0000000aaa",
        }
    ]
    assert deploy["environment"] == "staging" and deploy["name"] == "develop-1a2b3c4 to staging"
    assert "dateReleased" in final
    # the token travels only in the header, the canary nowhere
    assert leaked(api, CANARY, TOKEN) == []
    assert MASK in api.requests[0].raw  # the link carried the canary


def test_sentry_missing_settings_skip_with_one_line(make_settings, capsys):
    assert sentry.record_release(make_settings(SENTRY_ORG="acme"), RELEASE) is None
    out = capsys.readouterr().out.strip().splitlines()
    assert out == ["– Sentry: skipped (SENTRY_AUTH_TOKEN, SENTRY_PROJECT not set)"]


def test_sentry_failure_prints_one_line_and_does_not_raise(receiver, make_settings, capsys):
    api = receiver(status=500, reply='{"detail": "Internal Error"}')
    settings = sentry_settings(make_settings, api.url)
    capsys.readouterr()
    assert sentry.record_release(settings, RELEASE, runner=Runner(echo=False)) is False
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(api.requests) == 1  # nothing else is attempted without a release
    assert lines == [
        '✘ Sentry create release develop-1a2b3c4 failed: HTTP 500: {"detail": "Internal Error"}'
    ]
    assert TOKEN not in "\n".join(lines)


def test_sentry_dry_run_plans_four_calls(receiver, make_settings):
    api = receiver()
    runner = Runner(dry_run=True)
    settings = sentry_settings(make_settings, api.url)
    assert sentry.record_release(settings, RELEASE, runner=runner) is None
    assert api.requests == []
    assert runner.plan == [
        "[api] Sentry: create release develop-1a2b3c4",
        "[api] Sentry: set commits of develop-1a2b3c4",
        "[api] Sentry: deploy marker develop-1a2b3c4 → staging",
        "[api] Sentry: finalize release develop-1a2b3c4",
    ]
