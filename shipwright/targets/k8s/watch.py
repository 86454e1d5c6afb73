"""Watch one Deployment's rollout until :mod:`.judge` says done or failed.

Progress is printed when it changes (updated/ready/available of desired); a pod that
will never serve ends the wait at once, naming the pod and the reason, and its last log
lines are printed -- nothing is deleted, so the pod stays there to be looked at.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from shipwright.output import say
from shipwright.retry import poll
from shipwright.targets.k8s import judge
from shipwright.targets.k8s.client import Kube
from shipwright.targets.k8s.config import K8sConfig

LOG_TAIL = 20


@dataclass
class Watched:
    ok: bool
    message: str
    problem: judge.Problem | None = None
    seconds: float = 0.0


@dataclass
class _Step:
    finished: bool
    ok: bool = False
    message: str = ""
    problem: judge.Problem | None = None


class RolloutWatch:
    def __init__(
        self,
        kube: Kube,
        cfg: K8sConfig,
        name: str,
        *,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.kube, self.cfg, self.name, self.clock = kube, cfg, name, clock
        self._shown = ""
        self._unready_since: dict[str, float] = {}

    def wait(self, timeout: float | None = None) -> Watched:
        limit = self.cfg.rollout_timeout if timeout is None else timeout
        polled = poll(
            self._step,
            timeout=limit,
            done=lambda step: step.finished,
            interval=min(self.cfg.poll_interval, 0.5),
            growth=1.5,
            max_interval=self.cfg.poll_interval,
            clock=self.clock,
        )
        step = polled.value
        if polled.ok and step is not None:
            return Watched(step.ok, step.message, step.problem, polled.seconds)
        why = step.message if step else f"{type(polled.error).__name__}: {polled.error}"
        self._show_unready_pods()
        return Watched(False, f"not rolled out after {limit:.0f}s: {why}", None, polled.seconds)

    # -- one look ---------------------------------------------------------------------------
    def _step(self) -> _Step:
        deployment = self.kube.get("apps/v1", "Deployment", self.name)
        if deployment is None:
            return _Step(True, False, f"deployment {self.name!r} does not exist")
        verdict = judge.rollout_status(deployment)
        self._progress(f"{judge.progress(deployment)} — {verdict.message}")
        if verdict.failed:
            self._show_unready_pods(deployment)
            return _Step(True, False, verdict.message)
        if verdict.done:
            return _Step(True, True, verdict.message)
        problem = self._broken_pod(deployment)
        if problem is not None:
            self._show_log(problem)
            return _Step(True, False, str(problem), problem)
        return _Step(False, message=verdict.message)

    def _progress(self, line: str) -> None:
        if line != self._shown:
            say(f"  rollout {self.name}: {line}")
            self._shown = line

    def _new_pods(self, deployment: dict) -> list[dict]:
        if judge.rollout_status(deployment).message.startswith("waiting for the deployment"):
            return []  # the new ReplicaSet is not known before the spec update is observed
        selector = _selector(deployment["spec"]["selector"].get("matchLabels") or {})
        replica_sets = self.kube.list("apps/v1", "ReplicaSet", selector)
        new = judge.new_replica_set(deployment, replica_sets)
        if new is None:
            return []
        labels = new["spec"]["selector"].get("matchLabels") or {}
        return self.kube.list("v1", "Pod", _selector(labels))

    def _broken_pod(self, deployment: dict) -> judge.Problem | None:
        now = self.clock()
        seen: set[str] = set()
        for pod in self._new_pods(deployment):
            for key in judge.running_unready(pod):
                seen.add(key)
                self._unready_since.setdefault(key, now)
            unready = {k: now - since for k, since in self._unready_since.items()}
            problem = judge.pod_problem(
                pod,
                restart_budget=self.cfg.restart_budget,
                unready_seconds=unready,
                ready_budget=self.cfg.ready_budget,
            )
            if problem is not None:
                return problem
        for key in set(self._unready_since) - seen:
            del self._unready_since[key]  # ready now, or restarted: the clock starts again
        return None

    # -- what a human needs to see -------------------------------------------------------------
    def _show_log(self, problem: judge.Problem) -> None:
        container = None if problem.container == "-" else problem.container
        text = self.kube.pod_log(
            problem.pod, container, tail=LOG_TAIL, previous=problem.restarts > 0
        )
        if not text.strip() and problem.restarts > 0:
            text = self.kube.pod_log(problem.pod, container, tail=LOG_TAIL)
        say(f"✘ {problem}")
        if text.strip():
            say(f"  last log lines of pod {problem.pod}:")
            for line in text.rstrip().splitlines()[-LOG_TAIL:]:
                say(f"    {line}")

    def _show_unready_pods(self, deployment: dict | None = None) -> None:
        """On a deadline: each new pod that is not ready, and why as far as it says."""
        try:
            deployment = deployment or self.kube.get("apps/v1", "Deployment", self.name)
            pods = self._new_pods(deployment) if deployment else []
        except Exception:  # noqa: BLE001 - the failure is reported already; this is extra
            return
        for pod in pods:
            reasons = [
                next(iter((cs.get("state") or {}).values()), {}).get("reason", "")
                for cs in judge.container_statuses(pod)
                if not cs.get("ready")
            ]
            phase = (pod.get("status") or {}).get("phase", "?")
            conditions = (pod.get("status") or {}).get("conditions") or []
            unscheduled = [c.get("message", "") for c in conditions if c.get("status") == "False"]
            if reasons or phase != "Running":
                detail = ", ".join(r for r in reasons + unscheduled if r)
                say(
                    f"  pod {pod['metadata']['name']}: {phase}" + (f" ({detail})" if detail else "")
                )


def _selector(labels: dict[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))
