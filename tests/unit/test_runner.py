"""The command runner against real local commands."""

import pytest

from shipwright.errors import CommandError
from shipwright.redact import MASK, REDACTOR
from shipwright.runner import Runner


def test_runs_captures_and_times(capsys):
    result = Runner().local(["sh", "-c", "echo hello; echo oops >&2"])
    assert result.ok and result.stdout == "hello\n" and "oops" in result.stderr
    assert result.duration >= 0
    assert "$ sh -c 'echo hello; echo oops >&2'" in capsys.readouterr().out


def test_failure_names_command_code_and_tail():
    with pytest.raises(CommandError) as err:
        Runner().local(["sh", "-c", "echo line1; echo boom >&2; exit 7"], quiet=True)
    message = str(err.value)
    assert "exit 7" in message and "sh -c" in message and "boom" in message


def test_secrets_travel_in_env_and_are_masked_in_output(capsys):
    REDACTOR.add("canary-in-env-123")
    result = Runner().local(["sh", "-c", 'echo "got $TOKEN"'], env={"TOKEN": "canary-in-env-123"})
    assert result.stdout == f"got {MASK}\n"
    assert "canary-in-env-123" not in capsys.readouterr().out


def test_dry_run_plans_and_runs_nothing(tmp_path, capsys):
    marker = tmp_path / "made"
    runner = Runner(dry_run=True)
    runner.local(["touch", str(marker)])
    calls = []
    runner.api("ecs.update_service(cluster=prod)", calls.append, "x")
    read = runner.local(["echo", "read-only"], changes=False, quiet=True)
    assert not marker.exists() and calls == []
    assert read.stdout == "read-only\n"  # read-only commands still run to make the plan right
    assert runner.plan == [f"[local] touch {marker}", "[api] ecs.update_service(cluster=prod)"]
    assert "would run [local] touch" in capsys.readouterr().out
