"""Pure logic of the App Runner and Express targets: the repository's apprunner.yaml
(the specification's file passes; each rule refuses with its place in the file, never a
secret's value), how an ended operation is judged, and the flow's use of a target's own
URL when APP_URL is unset."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from support.runnerworld import pinned

from shipwright.checks import health
from shipwright.domain import Checks, Release
from shipwright.errors import ConfigError
from shipwright.flow import release as flow
from shipwright.flow.session import Deployment
from shipwright.runner import Runner
from shipwright.settings import load_settings
from shipwright.targets.apprunner import source
from shipwright.targets.apprunner.move import units
from shipwright.targets.apprunner.operation import judge

ROOT = Path(__file__).resolve().parents[2]
SPEC = yaml.safe_load((ROOT / "apprunner.yaml").read_text())


@pytest.fixture
def settings():
    return load_settings(
        "development", overrides={"JWT_SECRET": "s3cr3t-value-xyz"}, validate=False
    )


def test_the_specifications_file_is_valid(settings):
    assert source.problems_in(SPEC, settings) == []
    assert SPEC["runtime"] == "nodejs18" and SPEC["run"]["network"]["port"] == 3000
    source.load(ROOT / "apprunner.yaml", settings)


@pytest.mark.parametrize(
    "change, problem",
    [
        ({"version": 2.0}, "version: must be 1.0"),
        ({"runtime": "nodejs99"}, "runtime: 'nodejs99' is not an App Runner runtime"),
        ({"build": {"commands": {}}}, "build.commands.build: at least one build command"),
        ({"run": {"network": {"port": 3000}}}, "run.command: the command that starts the app"),
        ({"run": {"command": "npm start", "network": {"port": "x"}}}, "run.network.port"),
        ({"colour": "blue"}, "colour: not a key of the version 1.0 file"),
    ],
)
def test_each_rule_names_its_place(settings, change, problem):
    assert any(problem in p for p in source.problems_in({**SPEC, **change}, settings))


def test_env_names_and_no_secret_values(settings):
    run = {
        **SPEC["run"],
        "env": [
            {"name": "NODE_ENV", "value": "production"},
            {"name": "NODE_ENV", "value": "production"},
            {"name": "bad-name", "value": "1"},
            {"name": "STRIPE_SECRET_KEY", "value": "sk_test_x"},  # declared secret
            {"name": "HARMLESS", "value": "s3cr3t-value-xyz"},  # a secret's value
        ],
        "secrets": [{"name": "MONGO_URI", "value-from": "not-an-arn"}],
    }
    problems = source.problems_in({**SPEC, "run": run}, settings)
    text = "\n".join(problems)
    assert "run.env[1]: NODE_ENV is set twice" in text
    assert "run.env[2].name: 'bad-name' is not a variable name" in text
    assert "run.env[3] (STRIPE_SECRET_KEY): a secret value must not be in the file" in text
    assert "run.env[4] (HARMLESS): a secret value must not be in the file" in text
    assert "run.secrets[0].value-from: must be a Secrets Manager or SSM ARN" in text
    assert "s3cr3t" not in text and "sk_test" not in text


def test_a_missing_file_is_a_config_error_naming_the_setting(settings, tmp_path):
    with pytest.raises(ConfigError, match="APPRUNNER_CONFIG"):
        source.load(tmp_path / "apprunner.yaml", settings)


def image_service(image: str, status: str = "RUNNING") -> dict:
    return {
        "Status": status,
        "SourceConfiguration": {"ImageRepository": {"ImageIdentifier": image}},
    }


def test_an_operation_is_judged_by_the_service_it_leaves():
    v1, v2 = pinned("v1"), pinned("v2")
    assert judge("SUCCEEDED", image_service(v2), v2, v1).state == "succeeded"
    assert judge("SUCCEEDED", image_service(v1), v2, v1).state == "broken"  # not ours
    assert judge("ROLLBACK_SUCCEEDED", image_service(v1), v2, v1).state == "restored"
    assert judge("FAILED", image_service(v1), v2, v1).state == "restored"
    assert judge("FAILED", image_service(v1, "CREATE_FAILED"), v2, v1).state == "broken"
    assert judge("FAILED", image_service(v2), v2, v1).state == "broken"  # still the new one
    assert judge("ROLLBACK_FAILED", image_service(v1), v2, v1).state == "broken"


def test_app_runner_sizes_become_ecs_units():
    assert [units("1 vCPU", 1024), units("0.25 vCPU", 1024), units("1024", 1024)] == [
        "1024",
        "256",
        "1024",
    ]
    assert [units("2 GB", 1024), units("0.5 GB", 1024), units("3072", 1024)] == [
        "2048",
        "512",
        "3072",
    ]


class ServesAt:
    """A target that knows its own URL, as App Runner and Express do."""

    name = "test"

    def __init__(self):
        self.asked = 0

    def app_url(self):
        self.asked += 1
        return "https://x7k2pq9mzr.us-east-1.awsapprunner.com"

    def verify(self, release):
        return Checks()


def test_the_targets_url_is_the_apps_url_when_app_url_is_unset(monkeypatch):
    seen = []
    monkeypatch.setattr(
        health, "health_from_settings", lambda settings, url, **_: seen.append(url) or Checks()
    )
    monkeypatch.setattr(flow.smoke, "smoke_from_settings", lambda *a, **k: Checks())
    settings = load_settings("development", overrides={"APP_URL": ""}, validate=False)
    target = ServesAt()
    dep = Deployment(settings, Runner(echo=False), target, ledger=None, lock=None)
    flow.verify(dep, Release("development", "v1", pinned("v1")))
    flow.verify(dep, Release("development", "v1", pinned("v1")))
    assert seen == ["https://x7k2pq9mzr.us-east-1.awsapprunner.com"] * 2
    assert target.asked == 1  # asked once per run

    mine = load_settings("development", overrides={"APP_URL": "http://127.0.0.1:9"}, validate=False)
    assert Deployment(mine, Runner(echo=False), target, None, None).app_url == "http://127.0.0.1:9"
