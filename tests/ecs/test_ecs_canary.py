"""No secret value in any ECS output, task definition, plan, diff, ledger entry or log
read: a canary in every secret variable (tests/test_canary.py's), the CLI run against
the local AWS endpoint -- with canary AWS keys too (the endpoint takes any)."""

from __future__ import annotations

import json

import pytest
from support.ecsworld import APP, BUCKET, release
from test_canary import CANARIES, CANARY

pytestmark = pytest.mark.integration


def test_no_canary_in_task_definitions_plans_diffs_ledger_or_logs(cli):
    world, v1 = cli.world, release("v1")
    env = {**CANARIES, "AWS_SESSION_TOKEN": ""}
    outputs = [
        cli("ecs.render", "--env", "staging", "--image", v1.image, **env),
        cli("deploy", "--env", "staging", "--image", v1.image, "--no-gates", "--dry-run", **env),
        cli("deploy", "--env", "staging", "--image", v1.image, "--no-gates", **env),
        cli("ecs.diff", "--env", "staging", "--image", release("v2").image, **env),
        cli("status", "--env", "staging", **env),
        cli("history", "--env", "staging", "--json", **env),
    ]
    password = CANARIES["MONGO_URI"].split(":")[2].split("@")[0]
    world.write_logs("canary00001", [f"connecting with {CANARIES['MONGO_URI']}", password])
    outputs.append(cli("logs", "--env", "staging", "--since", "5m", **env))
    for result in outputs:
        assert CANARY not in result.output, result.output
    assert outputs[2].code == 0, outputs[2].output
    assert "********" in outputs[-1].output  # the app's own leak, masked on the way out

    ecs, s3 = world.client("ecs"), world.client("s3")
    for arn in world.active_revisions():
        described = ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"]
        assert CANARY not in json.dumps(described, default=str)
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix=f"shipwright/{APP}/staging/")["Contents"]
    assert any("/ledger/" in item["Key"] for item in listed)
    for item in listed:
        body = s3.get_object(Bucket=BUCKET, Key=item["Key"])["Body"].read().decode()
        assert CANARY not in body, item["Key"]
