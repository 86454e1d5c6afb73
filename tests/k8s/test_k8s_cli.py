"""The Kubernetes target from the CLI, as a user runs it (``invoke …`` in a child
process), against the emulated cluster in this process over real HTTP: deploy, status,
logs, run, history, rollback, k8s.diff, --dry-run; no secret in any output."""

from __future__ import annotations

import pytest
from helpers import invoke
from support.kube.kit import CANARY, overrides, release

NAME = "learinal-backend"


@pytest.fixture
def cli(cluster, namespace, tmp_path):
    env = overrides(cluster, tmp_path, namespace)

    def run(*args: str, **more: str):
        result = invoke(*args, env={**env, **more}, timeout=180)
        assert CANARY not in result.output, f"secret leaked by invoke {' '.join(args)}"
        return result

    return run


def test_deploy_status_logs_run_history_rollback(cli, cluster, namespace):
    v1, v2 = release(cluster, "v1"), release(cluster, "v2")
    done = cli("deploy", "--env", "staging", "--no-gates", "--no-watch", "--image", v1.image)
    assert done.code == 0, done.output
    assert "successfully rolled out" in done.output
    assert (
        cli("deploy", "--env", "staging", "--no-gates", "--no-watch", "--image", v2.image).code == 0
    )

    state = cli("status", "--env", "staging")
    assert state.code == 0 and "serving v2" in state.output
    assert f"deployment/{NAME}" in state.output and "pod/" in state.output
    assert "rev 2" in state.output  # ReplicaSets with revisions and images

    logs = cli("logs", "--env", "staging")
    assert (
        logs.code == 0
        and "listening on :3000" in logs.output
        and "[learinal-backend-" in logs.output
    )

    followed = cli("logs", "--env", "staging", "--follow", "--since", "10m")
    assert followed.code == 0 and "listening on :3000" in followed.output  # the stream ended
    assert cli("logs", "--env", "staging", "--since", "ten").code == 2

    job = cli(
        "run",
        "--env",
        "staging",
        "--",
        "sh",
        "-c",
        'echo job-out; test -n "$MONGO_URI" && echo has-mongo; echo "$MONGO_URI"; exit 1',
    )
    assert job.code == 1, job.output
    assert "job-out" in job.output and "has-mongo" in job.output  # the app's Secret reached it
    assert "exited 1 on job/" in job.output
    jobs = cluster.list("Job", namespace)
    assert len(jobs) == 1 and jobs[0]["spec"]["backoffLimit"] == 0
    pod_labels = jobs[0]["spec"]["template"]["metadata"]["labels"]
    assert "app" not in pod_labels  # the Service never routes to a one-off Job

    history = cli("history", "--env", "staging")
    assert history.code == 0 and "v1" in history.output and "v2" in history.output
    back = cli("rollback", "--env", "staging")
    assert back.code == 0, back.output
    assert "serving v1" in cli("status", "--env", "staging").output


def test_diff_exit_codes(cli, cluster, namespace, tmp_path):
    v1, v2 = release(cluster, "v1"), release(cluster, "v2")
    first = cli("k8s.diff", "--env", "staging", "--image", v1.image)
    assert first.code == 1 and "/dev/null" in first.output  # nothing there yet
    assert (
        cli("deploy", "--env", "staging", "--no-gates", "--no-watch", "--image", v1.image).code == 0
    )
    same = cli("k8s.diff", "--env", "staging", "--image", v1.image)
    assert same.code == 0, same.output
    other = cli("k8s.diff", "--env", "staging", "--image", v2.image)
    assert other.code == 1
    changed = [line for line in other.output.splitlines() if line.startswith(("-", "+"))]
    assert any(v1.image.split("@")[1] in line for line in changed if line.startswith("-"))
    assert any(v2.image.split("@")[1] in line for line in changed if line.startswith("+"))
    dead = tmp_path / "dead"
    dead.write_text(cluster.api.kubeconfig().replace(cluster.url, "http://127.0.0.1:9"))
    broken = cli("k8s.diff", "--env", "staging", "--image", v1.image, KUBECONFIG=str(dead))
    assert broken.code == 2 and "cannot reach the Kubernetes API" in broken.output


def test_dry_run_prints_the_plan_and_changes_nothing(cli, cluster, namespace):
    v1 = release(cluster, "v1")
    planned = cli("deploy", "--env", "staging", "--no-gates", "--dry-run", "--image", v1.image)
    assert planned.code == 0, planned.output
    assert "would server-side apply" in planned.output and "values never shown" in planned.output
    assert cluster.list("Deployment", namespace) == [] and cluster.list("Lease", namespace) == []


def test_render_masks_secrets_and_pins_the_digest(cli, cluster):
    v1 = release(cluster, "v1")
    shown = cli("k8s.render", "--env", "staging", "--image", v1.image)
    assert shown.code == 0, shown.output
    assert f"image: {v1.image.replace(':v1@', '@')}" in shown.output
    assert "MONGO_URI: '********'" in shown.output
