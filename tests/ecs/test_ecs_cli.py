"""The ECS target from the CLI, as a user runs it, against the local AWS endpoint:
ecs.render, ecs.diff (exit 0/1/2), deploy (gates, --dry-run, --no-gates), status, logs,
history, rollback, run, and the errors for a missing service and missing credentials."""

from __future__ import annotations

import json
import os

import pytest
from helpers import invoke
from support.ecsworld import release

pytestmark = pytest.mark.integration


def test_render_prints_the_task_definition_with_references(cli):
    v1 = release("v1")
    result = cli("ecs.render", "--env", "staging", "--image", v1.image)
    assert result.code == 0, result.output
    app = json.loads(result.stdout)["containerDefinitions"][0]
    assert app["image"] == v1.image.replace(":v1@", "@")
    assert {s["name"]: s["valueFrom"] for s in app["secrets"]}["MONGO_URI"].endswith("/MONGO_URI")


def test_the_whole_life_of_a_release(cli):
    world, v1, v2 = cli.world, release("v1"), release("v2")
    diff = cli("ecs.diff", "--env", "staging", "--image", v1.image)
    assert diff.code == 1 and '+      "image":' in diff.output, diff.output

    planned = cli("deploy", "--env", "staging", "--image", v1.image, "--no-gates", "--dry-run")
    assert planned.code == 0 and "would register a revision" in planned.output, planned.output
    assert "would update_service" in planned.output
    assert len(world.active_revisions()) == 1  # the plan changed nothing

    gated = cli("deploy", "--env", "staging", "--image", v1.image)
    assert gated.code == 1 and "preflight refused the deploy" in gated.output

    for rel in (v1, v2):
        done = cli("deploy", "--env", "staging", "--image", rel.image, "--no-gates")
        assert done.code == 0, done.output
        assert f"verify: {world.service}: the PRIMARY deployment runs {rel.version}" in done.output
    assert cli("ecs.diff", "--env", "staging", "--image", v2.image).code == 0

    world.write_logs("cli0000001", ["GET /health 200 3ms"])
    status = cli("status", "--env", "staging")
    assert status.code == 0 and "serving v2" in status.output, status.output
    logs = cli("logs", "--env", "staging", "--since", "5m")
    assert logs.code == 0 and "GET /health 200 3ms" in logs.output
    history = cli("history", "--env", "staging")
    assert history.code == 0 and "succeeded" in history.output

    back = cli("rollback", "--env", "staging")
    assert back.code == 0, back.output
    assert "serving v1" in cli("status", "--env", "staging").output

    ran = cli("run", "--env", "staging", "--", "node", "migrate.js")
    assert ran.code != 0 and "exited -1" in ran.output  # moto never runs the container


def test_a_missing_service_exits_2_naming_the_setting(cli):
    result = cli("ecs.diff", "--env", "staging", "--image", release("v1").image, ECS_SERVICE="nope")
    assert result.code == 2 and "ECS_SERVICE=nope (set by process environment)" in result.output


def test_missing_credentials_exit_2_before_anything_runs(cli, tmp_path):
    env = {k: "" for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")}
    result = invoke(
        "status",
        "--env",
        "staging",
        env={
            **cli.world.cli_env(),
            **env,
            "AWS_EC2_METADATA_DISABLED": "true",  # no instance-metadata look-up from here
            "AWS_CONFIG_FILE": str(tmp_path / "none"),
            "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
            "HOME": str(tmp_path),
        },
        timeout=120,
    )
    assert result.code == 2 and "no AWS credentials" in result.output, result.output
    assert os.environ.get("AWS_ACCESS_KEY_ID")  # this process's own are untouched
