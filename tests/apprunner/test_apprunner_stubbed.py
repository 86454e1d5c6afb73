"""The App Runner target through the whole flow (``invoke deploy``/``rollback``'s code:
lock, deploy, verify, record), App Runner answering from Stubber sequences in AWS's
documented shapes (arstub.py: every request and response checked against botocore's
App Runner model). S3 (lock, ledger), SSM (the secret references) and CloudWatch Logs
are the real local endpoint; verify's health and smoke checks are real HTTP to a local
app (APP_URL).

Proven here: success; a failed update App Runner rolled back itself (the service
RUNNING again on the previous image) is exit 3 "restored", never a success;
ROLLBACK_FAILED is exit 4; an operation that never finishes times out with a clear
message and nothing else changed; rollback is UpdateService with the ledger's last good
image; source-code services deploy with StartDeployment after apprunner.yaml is
validated; bad input (a non-ECR image, a busy service, an unknown service name) is exit
2 with nothing changed; status, logs, and run's clear refusal.
What only real App Runner shows (its real timing, a real rollback): test_apprunner_real.py.
"""

from __future__ import annotations

import pytest
from arkit import FakeTime, deploy, exit_code, newest, record_good, rollback, target_for
from support.arstub import AppRunnerScript, op_id
from support.runnerworld import SERVICE_NAME, pinned, release

from shipwright.errors import ExitCode
from shipwright.targets.apprunner.target import AppRunnerTarget

pytestmark = pytest.mark.integration


@pytest.fixture
def script(world):
    with AppRunnerScript(world.moto.url) as s:
        yield s


def target(world, script, time_=None, **extra):
    settings = world.settings(**extra)
    return settings, target_for(AppRunnerTarget, settings, "apprunner", script.client, time_)


def begin(script, serving="v1", new="v2") -> None:
    """``serving`` runs; the deploy updates the service to ``new``."""
    script.describe(serving)  # the flow: what serves
    script.describe(serving)  # the target: before the update
    script.update(1, new)


def test_success_updates_by_digest_with_secret_references_and_follows_the_operation(
    world, script, capsys
):
    settings, t = target(world, script)
    begin(script)
    script.operation(1, "IN_PROGRESS")
    script.operation(1, "SUCCEEDED")
    script.describe("v2")  # the operation's end: RUNNING on v2
    script.describe("v2")  # the flow's verify
    code, why = deploy(settings, t, release("v2"))
    script.done()
    assert code == 0, why
    assert newest(settings).result == "succeeded"
    [sent] = script.sent("UpdateService")
    image = sent["SourceConfiguration"]["ImageRepository"]
    assert image["ImageIdentifier"] == pinned("v2")  # by digest, the tag dropped
    assert image["ImageRepositoryType"] == "ECR"
    config = image["ImageConfiguration"]
    assert config["Port"] == "3000"  # kept as the service has it
    assert config["RuntimeEnvironmentVariables"]["APP_VERSION"] == "v2"
    assert config["RuntimeEnvironmentSecrets"]["MONGO_URI"].startswith("arn:aws:ssm:")
    assert "MONGO_URI" not in config["RuntimeEnvironmentVariables"]
    out = capsys.readouterr().out
    assert "apprunner: UPDATE_SERVICE IN_PROGRESS" in out and "SUCCEEDED" in out
    assert "verify: GET /health" in out  # the flow's health check ran on APP_URL


@pytest.mark.parametrize("ended", ["ROLLBACK_SUCCEEDED", "FAILED"])
def test_a_failed_update_app_runner_rolled_back_is_exit_3_restored(world, script, ended):
    settings, t = target(world, script)
    begin(script)
    script.operation(1, "IN_PROGRESS")
    script.operation(1, "ROLLBACK_IN_PROGRESS")
    script.operation(1, ended)
    script.describe("v1")  # RUNNING again, on the previous image
    code, why = deploy(settings, t, release("v2"))
    script.done()
    assert code == ExitCode.RESTORED, why
    entry = newest(settings)
    assert entry.result == "restored"
    assert f"{ended}: App Runner rolled back; {pinned('v1')} serves again" in entry.notes[0]


def test_rollback_failed_is_exit_4_broken(world, script):
    settings, t = target(world, script)
    begin(script)
    script.operation(1, "ROLLBACK_IN_PROGRESS")
    script.operation(1, "ROLLBACK_FAILED")
    script.describe("v2", status="CREATE_FAILED")
    code, why = deploy(settings, t, release("v2"))
    script.done()
    assert code == ExitCode.BROKEN, why
    assert newest(settings).result == "broken"
    assert "ROLLBACK_FAILED" in why and "not restored" in why


def test_an_operation_that_never_finishes_times_out_clearly_and_changes_nothing_else(
    world, script, capsys
):
    time_ = FakeTime()
    settings, t = target(world, script, time_, APPRUNNER_DEPLOY_TIMEOUT="30")
    begin(script)
    for _ in range(4):  # at 0, 10, 20, 30 s: still in progress
        script.operation(1, "IN_PROGRESS")
    code, why = deploy(settings, t, release("v2"))
    script.done()  # and no call after the last look: no second update, no describe
    assert code == ExitCode.BROKEN, why
    assert "not finished after 30s (APPRUNNER_DEPLOY_TIMEOUT)" in why
    assert f"operation {op_id(1)} is IN_PROGRESS" in why
    assert len(script.sent("UpdateService")) == 1 and time_.now == 30
    assert "App Runner cannot cancel an operation, and nothing else was changed" in (
        capsys.readouterr().out
    )


def test_ctrl_c_while_following_says_where_things_stand(world, script):
    settings, t = target(world, script, FakeTime(interrupt_after=1))
    begin(script)
    script.operation(1, "IN_PROGRESS")
    script.operation(1, "IN_PROGRESS")
    code, why = deploy(settings, t, release("v2"))
    script.done()
    assert code == ExitCode.BROKEN and "interrupted (Ctrl-C)" in why


def test_rollback_is_update_service_with_the_ledgers_last_good_image(world, script):
    settings, t = target(world, script)
    record_good(settings, release("v1"))
    record_good(settings, release("v2"))
    script.describe("v2")  # the flow: what serves (v2, so v1 is the last good other one)
    script.describe("v2")  # the flow again, under the lock
    script.describe("v2")  # the target
    script.update(1, "v1")
    script.operation(1, "SUCCEEDED")
    script.describe("v1")
    script.describe("v1")  # verify
    code, why = rollback(settings, t)
    assert code == 0, why
    script.done()
    assert script.sent("UpdateService")[0]["SourceConfiguration"]["ImageRepository"][
        "ImageIdentifier"
    ] == pinned("v1")
    entry = newest(settings)
    assert (entry.action, entry.result, entry.version) == ("rollback", "succeeded", "v1")


def test_an_image_outside_ecr_is_refused_before_anything_changes(world, script):
    settings, t = target(world, script)
    script.describe("v1")
    script.describe("v1")
    other = release("v2").image.replace(release("v2").image.split("/")[0], "ghcr.io")
    code, why = deploy(settings, t, type(release("v2"))("staging", "v2", other))
    script.done()
    assert code == ExitCode.BAD_INPUT
    assert "ECR or ECR Public only" in why and "IMAGE_REPOSITORY" in why
    assert script.sent("UpdateService") == []


def test_a_busy_service_is_refused_before_anything_changes(world, script):
    settings, t = target(world, script)
    script.describe("v1", status="OPERATION_IN_PROGRESS")
    script.describe("v1", status="OPERATION_IN_PROGRESS")
    code, why = deploy(settings, t, release("v2"))
    assert code == ExitCode.BAD_INPUT and "OPERATION_IN_PROGRESS, not RUNNING" in why
    assert script.sent("UpdateService") == []


def test_a_service_name_is_looked_up_and_an_unknown_one_names_the_setting(world, script):
    settings, t = target(world, script, APPRUNNER_SERVICE=SERVICE_NAME)
    script.services("other-service", SERVICE_NAME)
    script.describe("v1")
    assert t.current().version == "v1"
    settings, t = target(world, script, APPRUNNER_SERVICE="nope")
    script.services(SERVICE_NAME)
    code, why = exit_code(t.current)
    script.done()
    assert code == ExitCode.BAD_INPUT
    assert "APPRUNNER_SERVICE=nope (set by --set)" in why and "ecs-express" in why


def test_source_services_validate_apprunner_yaml_then_start_a_deployment(world, script):
    settings, t = target(world, script)
    script.describe("v1", source=True)
    script.describe("v1", source=True)
    script.start(2)
    script.operation(2, "IN_PROGRESS", kind="START_DEPLOYMENT")
    script.operation(2, "SUCCEEDED", kind="START_DEPLOYMENT")
    script.describe("v2", source=True)
    script.describe("v2", source=True)  # verify: RUNNING
    code, why = deploy(settings, t, release("v2"))
    script.done()
    assert code == 0, why
    assert script.sent("UpdateService") == []


def test_a_source_service_with_a_secret_in_apprunner_yaml_is_refused(world, script, tmp_path):
    bad = tmp_path / "apprunner.yaml"
    bad.write_text(
        "version: 1.0\nruntime: nodejs18\nbuild:\n  commands:\n    build: [npm ci]\n"
        "run:\n  command: npm start\n  network: {port: 3000}\n"
        "  env:\n    - name: JWT_SECRET\n      value: hunter2hunter2\n"
    )
    settings, t = target(world, script, APPRUNNER_CONFIG=str(bad))
    script.describe("v1", source=True)
    script.describe("v1", source=True)
    code, why = deploy(settings, t, release("v2"))
    script.done()
    assert code == ExitCode.BAD_INPUT
    assert "run.env[0] (JWT_SECRET): a secret value must not be in the file" in why
    assert "hunter2" not in why
    assert script.sent("StartDeployment") == []


def test_a_source_service_cannot_roll_back_to_an_older_build(world, script):
    settings, t = target(world, script)
    record_good(settings, release("v1"))
    for _ in range(3):  # the flow (what serves, then again under the lock), the target
        script.describe("v2", source=True)
    code, why = rollback(settings, t)
    assert code == ExitCode.BAD_INPUT and "Revert the commit" in why


def test_status_shows_the_service_and_its_recent_operations(world, script):
    settings, t = target(world, script)
    script.describe("v1")
    script.operation(1, "SUCCEEDED")
    state = t.status()
    script.done()
    assert state.serving.version == "v1"
    assert [row[2] for row in state.rows] == ["SUCCEEDED", "SUCCEEDED"]
    text = "\n".join(state.notes)
    assert "RUNNING, image " + pinned("v1") in text
    assert "url: https://x7k2pq9mzr.us-east-1.awsapprunner.com" in text
    assert "health check: HTTP /health every 10s" in text
    assert "instance: 1024 CPU, 2048 memory" in text


def test_logs_read_the_application_and_service_groups(world, script, capsys):
    base = "/aws/apprunner/learinal-backend-staging/8fe1e10304f84fd2b0df550fe98a71fa"
    world.write_logs(f"{base}/application", "instance/abc", ["GET /health 200"])
    world.write_logs(f"{base}/service", "events", ["[AppRunner] Deployment completed."])
    settings, t = target(world, script)
    script.describe("v1")
    t.logs(since="5m")
    out = capsys.readouterr().out
    assert "GET /health 200" in out and "[AppRunner] Deployment completed." in out


def test_run_is_refused_naming_the_alternatives(world, script):
    settings, t = target(world, script)
    code, why = exit_code(t.run, release("v1"), ["node", "scripts/x.js"])
    assert code == ExitCode.BAD_INPUT
    assert "App Runner has no one-off tasks" in why
    assert "invoke run --env ENV" in why and "invoke migrate.up --env staging --local" in why
