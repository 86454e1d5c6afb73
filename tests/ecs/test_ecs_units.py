"""Pure logic of the ECS target and the shared AWS plumbing: secret references (and the
validation rule they change), rendering refusals, --since parsing."""

from __future__ import annotations

import pytest

from shipwright.aws.logs import since_ms
from shipwright.aws.secrets import SecretRef, secret_refs
from shipwright.errors import ConfigError
from shipwright.settings import load_settings
from shipwright.targets.ecs import taskdef
from shipwright.targets.ecs.config import EcsConfig
from shipwright.targets.ecs.stopped import diagnose

SSM = "arn:aws:ssm:us-east-1:123456789012:parameter/learinal/staging/{name}"
IMAGE = "127.0.0.1:5000/learinal-backend:v1@sha256:" + "1" * 64


def test_a_required_secret_with_a_reference_need_not_be_set_on_an_aws_target():
    ecs = {"DEPLOY_TARGET": "ecs", "AWS_SECRET_FROM": SSM}
    assert load_settings("staging", overrides=ecs, environ={})  # no MONGO_URI here
    with pytest.raises(ConfigError, match="MONGO_URI is required in staging"):
        load_settings("staging", overrides={**ecs, "DEPLOY_TARGET": "compose"}, environ={})


def test_a_secret_without_a_reference_is_refused_naming_where_it_was_set():
    settings = load_settings("development", overrides={"OPENAI_API_KEY": "sk-x" * 8}, environ={})
    with pytest.raises(ConfigError, match=r"OPENAI_API_KEY \(set by --set\)"):
        secret_refs(settings, settings.app_environment())


def test_explicit_references_win_over_the_template_and_json_keys_are_kept():
    arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:learinal/staging-AbCdEf:MONGO_URI::"
    settings = load_settings(
        "staging",
        overrides={
            "DEPLOY_TARGET": "ecs",
            "AWS_SECRET_FROM": SSM,
            "AWS_SECRET_REFS": f"MONGO_URI={arn}",
        },
        environ={},
    )
    refs = {r.name: r for r in secret_refs(settings, settings.app_environment())}
    assert refs["MONGO_URI"].value_from == arn
    assert refs["MONGO_URI"].resource.endswith(":secret:learinal/staging-AbCdEf")
    assert refs["JWT_SECRET"].resource == "/learinal/staging/JWT_SECRET"
    assert SecretRef("X", SSM.replace("{name}", "X"), "").service == "ssm"


def test_the_template_may_not_name_a_secret(tmp_path):
    template = tmp_path / "td.json"
    template.write_text('{"family": "${MONGO_URI}", "containerDefinitions": [{"name": "backend"}]}')
    settings = load_settings(
        "staging",
        overrides={
            "DEPLOY_TARGET": "ecs",
            "AWS_SECRET_FROM": SSM,
            "ECS_TASK_DEFINITION": str(template),
        },
        environ={},
    )
    from support.ecsworld import release

    with pytest.raises(ConfigError, match="refers to the secret"):
        taskdef.render(settings, EcsConfig.from_settings(settings), release("v1"))


def test_since_accepts_durations_and_iso_times():
    assert since_ms("10m", now=1000.0) == 400_000
    assert since_ms("2h", now=10_000.0) == 2_800_000
    assert since_ms("1970-01-01T00:00:10Z") == 10_000
    with pytest.raises(ConfigError, match="--since"):
        since_ms("yesterday")


@pytest.mark.parametrize(
    ("reason", "code", "lines", "issue"),
    [
        ("OutOfMemoryError: Container killed", 137, [], "out of memory"),
        ("Task failed container health checks", None, [], "health check failure"),
        (
            "Essential container in task exited",
            1,
            ["MongoServerSelectionError: timed out"],
            "database",
        ),
        (
            "Essential container in task exited",
            1,
            ["JWT_SECRET is required"],
            "missing environment",
        ),
    ],
)
def test_the_specifications_common_issues_are_named(reason, code, lines, issue):
    assert issue in diagnose(reason, code, lines)
