"""The rollout judgement as pure functions: kubectl rollout status's conditions, one by
one, and the pod states that fail a deploy at once."""

from __future__ import annotations

import pytest

from shipwright.targets.k8s.judge import pod_problem, rollout_status


def deployment(generation=2, observed=2, desired=3, **status):
    return {
        "metadata": {"name": "app", "generation": generation},
        "spec": {"replicas": desired},
        "status": {"observedGeneration": observed, **status},
    }


@pytest.mark.parametrize(
    "dep, done, failed, says",
    [
        (deployment(observed=1), False, False, "spec update to be observed"),
        (
            deployment(conditions=[{"type": "Progressing", "reason": "ProgressDeadlineExceeded"}]),
            False,
            True,
            "exceeded its progress deadline",
        ),
        (deployment(updatedReplicas=1, replicas=3), False, False, "1 out of 3 new replicas"),
        (deployment(updatedReplicas=3, replicas=4), False, False, "1 old replicas are pending"),
        (
            deployment(updatedReplicas=3, replicas=3, availableReplicas=2),
            False,
            False,
            "2 of 3 updated replicas are available",
        ),
        (
            deployment(updatedReplicas=3, replicas=3, availableReplicas=3),
            True,
            False,
            "successfully rolled out",
        ),
    ],
)
def test_rollout_status_as_kubectl_judges_it(dep, done, failed, says):
    verdict = rollout_status(dep)
    assert (verdict.done, verdict.failed) == (done, failed)
    assert says in verdict.message


def pod(**container):
    return {
        "metadata": {"name": "app-abc"},
        "status": {"phase": "Running", "containerStatuses": [{"name": "backend", **container}]},
    }


def problem(p, unready=0.0):
    return pod_problem(
        p, restart_budget=2, unready_seconds={"app-abc/backend": unready}, ready_budget=10
    )


@pytest.mark.parametrize(
    "reason", ["ImagePullBackOff", "ErrImagePull", "CreateContainerConfigError"]
)
def test_what_never_heals_fails_at_once(reason):
    found = problem(pod(state={"waiting": {"reason": reason, "message": "why"}}))
    assert found.reason == reason and "app-abc" in str(found) and "why" in str(found)


def test_crash_loop_fails_only_past_the_restart_budget():
    looping = {"waiting": {"reason": "CrashLoopBackOff"}}
    assert problem(pod(state=looping, restartCount=2)) is None
    assert problem(pod(state=looping, restartCount=3)).reason == "CrashLoopBackOff"


def test_oom_killed_fails_at_once():
    last = {"terminated": {"reason": "OOMKilled", "exitCode": 137}}
    assert problem(pod(state={"running": {}}, lastState=last, restartCount=1)).reason == "OOMKilled"


def test_readiness_fails_past_its_budget():
    running = pod(state={"running": {}}, ready=False)
    assert problem(running, unready=5) is None
    assert problem(running, unready=11).reason == "readiness failing"
    assert problem(pod(state={"running": {}}, ready=True), unready=11) is None
