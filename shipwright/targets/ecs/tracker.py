"""Following one ECS deployment to its real end, whatever the service's strategy
(ROLLING with circuit breaker and alarms, BLUE_GREEN with bake time and hooks, LINEAR,
CANARY): ``DescribeServiceDeployments`` when the service has a current service
deployment, else the legacy ``deployments[].rolloutState``.

Why the extra checks: a deployment ECS rolled back also ends "steady", so success is
SUCCESSFUL **and** the PRIMARY deployment running the revision this deploy registered;
a rollback by the circuit breaker or an alarm is a failure with the previous revision
serving (``restored``). A deploy timeout or Ctrl-C asks ECS to roll the deployment back
(``StopServiceDeployment`` ROLLBACK; on the legacy path, an update back to the previous
revision) and waits until the previous revision serves.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from shipwright.aws.clients import AwsClients
from shipwright.errors import ConfigError
from shipwright.output import say
from shipwright.retry import poll
from shipwright.runner import Runner
from shipwright.targets.ecs import service as svc
from shipwright.targets.ecs.config import EcsConfig
from shipwright.targets.ecs.stopped import StoppedTasks

FINAL = ("SUCCESSFUL", "STOPPED", "ROLLBACK_SUCCESSFUL", "ROLLBACK_FAILED")


@dataclass
class Ended:
    """Where a deployment ended: ``succeeded``, ``restored`` (the previous revision
    serves again) or ``broken`` (neither: a human is needed); ``timeout`` only inside."""

    state: str
    detail: str
    serving: str | None = None  # the task definition the PRIMARY runs

    @property
    def ok(self) -> bool:
        return self.state == "succeeded"


class Following:
    """What a deployment follower needs: the AWS clients, the target's config, the
    runner (for plans), the stopped-task reporter, and a clock (tests drive it)."""

    def __init__(
        self,
        clients: AwsClients,
        config: EcsConfig,
        runner: Runner,
        stopped: StoppedTasks,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.clients, self.config, self.runner, self.stopped = clients, config, runner, stopped
        self.clock, self.sleep = clock, sleep
        self._last = ""


class Tracker(Following):
    @property
    def ecs(self) -> Any:
        return self.clients("ecs")

    # -- the whole move ------------------------------------------------------------------
    def follow(self, before: dict, updated: dict, registered: str, previous: str | None) -> Ended:
        """Track the deployment ``update_service`` started until it ends; roll it back on
        timeout or Ctrl-C."""
        arn = self._deployment_arn(before, updated)
        try:
            if arn:
                ended = self._follow_deployment(
                    arn, registered, previous, self.config.deploy_timeout
                )
            else:
                ended = self._follow_legacy(registered, previous, self.config.deploy_timeout)
        except KeyboardInterrupt:
            say("✘ interrupted: asking ECS to roll the deployment back")
            return self.roll_back(arn, registered, previous, "interrupted (Ctrl-C)")
        if ended.state == "timeout":
            why = (
                f"not done after {self.config.deploy_timeout:.0f}s "
                f"({self.config.setting('DEPLOY_TIMEOUT')})"
            )
            say(f"✘ {why}: asking ECS to roll the deployment back")
            return self.roll_back(arn, registered, previous, why)
        if ended.state == "failed":  # failed, and ECS is not rolling back by itself
            return self.roll_back(None, registered, previous, ended.detail)
        return ended

    def _deployment_arn(self, before: dict, updated: dict) -> str | None:
        """The service deployment this update started (None: the legacy path). The
        update's answer normally names it; if it still names the one before, ask again."""
        old = before.get("currentServiceDeployment")
        new = updated.get("currentServiceDeployment")
        if new and new != old:
            return new
        if not (new or old):
            return None
        found = poll(
            lambda: svc.describe(self.clients, self.config).get("currentServiceDeployment"),
            timeout=max(self.config.poll_seconds * 6, 1.0),
            done=lambda arn: bool(arn) and arn != old,
            interval=self.config.poll_seconds,
            fatal=(ConfigError,),
            clock=self.clock,
            sleep=self.sleep,
        )
        return found.value if found.ok else None

    # -- DescribeServiceDeployments ----------------------------------------------------------
    def _follow_deployment(self, arn, registered, previous, timeout, towards=None) -> Ended:
        towards = towards or registered

        def probe() -> dict:
            with svc.ecs_errors(self.clients, "following the service deployment"):
                found = self.ecs.describe_service_deployments(serviceDeploymentArns=[arn])
            deployments = found.get("serviceDeployments") or []
            if not deployments:
                raise ConfigError(f"ECS does not know the service deployment {arn}")
            current = deployments[0]
            self._progress(_describe_deployment(current))
            breaker = current.get("deploymentCircuitBreaker") or {}
            if breaker.get("failureCount"):
                self.stopped.report(registered)
            return current

        polled = self._poll(probe, timeout, lambda d: d.get("status") in FINAL)
        if not polled.ok:
            return Ended("timeout", f"deployment {polled.value and polled.value.get('status')}")
        current = polled.value
        status, reason = current["status"], _reason(current)
        primary = svc.primary_task_definition(svc.describe(self.clients, self.config))
        if status == "SUCCESSFUL" and primary == towards:
            return Ended("succeeded", f"{svc.revision_of(towards)} serves", primary)
        if status in ("ROLLBACK_SUCCESSFUL", "STOPPED", "SUCCESSFUL") and primary == previous:
            self.stopped.report(registered)
            return Ended(
                "restored", f"{status}: {reason}; {svc.revision_of(previous)} serves again", primary
            )
        self.stopped.report(registered)
        if status == "STOPPED" and primary == registered and towards == registered:
            return Ended("failed", f"{status}: {reason}", primary)  # not rolled back by ECS
        return Ended(
            "broken",
            f"{status}: {reason}; the PRIMARY deployment runs {svc.revision_of(primary)}",
            primary,
        )

    # -- deployments[].rolloutState ----------------------------------------------------------
    def _follow_legacy(self, registered, previous, timeout, towards=None) -> Ended:
        towards = towards or registered
        failed_seen = [0]

        def probe() -> dict:
            service = svc.describe(self.clients, self.config)
            deployments = service.get("deployments") or []
            self._progress("; ".join(_describe_legacy(d) for d in deployments) or "no deployments")
            failed = sum(
                d.get("failedTasks", 0)
                for d in deployments
                if d.get("taskDefinition") == registered
            )
            if failed > failed_seen[0]:
                failed_seen[0] = failed
                self.stopped.report(registered)
            return service

        polled = self._poll(
            probe, timeout, lambda s: _legacy_final(s, towards, previous) is not None
        )
        if not polled.ok:
            return Ended("timeout", "the deployment did not settle")
        return _legacy_final(polled.value, towards, previous)

    # -- back to the previous revision ---------------------------------------------------------
    def roll_back(self, arn: str | None, registered: str, previous: str | None, why: str) -> Ended:
        """Ask ECS to undo the in-flight deployment and wait until ``previous`` serves."""
        if previous is None:
            return Ended("broken", f"{why}; no previous revision to return to")
        timeout = self.config.rollback_timeout
        if arn:
            with svc.ecs_errors(self.clients, "stopping the service deployment"):
                self.runner.api(
                    f"stop_service_deployment {arn} (ROLLBACK)",
                    self.ecs.stop_service_deployment,
                    serviceDeploymentArn=arn,
                    stopType="ROLLBACK",
                )
            ended = self._follow_deployment(arn, registered, previous, timeout, towards=previous)
            if ended.state == "succeeded":  # "SUCCESSFUL towards previous" is a restore
                ended = Ended("restored", f"{svc.revision_of(previous)} serves again", previous)
        else:
            with svc.ecs_errors(self.clients, "updating the service back"):
                self.runner.api(
                    f"update_service {self.config.service} back to {svc.revision_of(previous)}",
                    self.ecs.update_service,
                    cluster=self.config.cluster,
                    service=self.config.service,
                    taskDefinition=previous,
                )
            ended = self._follow_legacy(previous, previous, timeout)
        if ended.state in ("restored", "succeeded"):
            return Ended("restored", f"{why}; rolled back: {ended.detail}", ended.serving)
        detail = "the rollback did not finish" if ended.state == "timeout" else ended.detail
        return Ended(
            "broken",
            f"{why}; {detail} ({self.config.setting('ROLLBACK_TIMEOUT')}={timeout:.0f}s)",
            ended.serving,
        )

    # -- helpers ---------------------------------------------------------------------------------
    def _poll(self, probe, timeout: float, done):
        return poll(
            probe,
            timeout=timeout,
            done=done,
            interval=self.config.poll_seconds,
            fatal=(ConfigError,),
            clock=self.clock,
            sleep=self.sleep,
        )

    def _progress(self, line: str) -> None:
        if line != self._last:
            self._last = line
            say(f"  ecs: {line}")


def _describe_deployment(d: dict) -> str:
    target = d.get("targetServiceRevision") or {}
    parts = [d.get("status", "?"), d.get("lifecycleStage", "")]
    counts = f"running {target.get('runningTaskCount', 0)}/{target.get('requestedTaskCount', 0)}"
    if target.get("pendingTaskCount"):
        counts += f", pending {target['pendingTaskCount']}"
    breaker = d.get("deploymentCircuitBreaker") or {}
    if breaker.get("status"):
        failed = f"{breaker.get('failureCount', 0)}/{breaker.get('threshold', '?')}"
        counts += f"; circuit breaker {breaker['status']} {failed}"
    alarms = d.get("alarms") or {}
    if alarms.get("status"):
        counts += f"; alarms {alarms['status']}"
    return " ".join(p for p in parts if p) + f": {counts}"


def _describe_legacy(d: dict) -> str:
    state = d.get("rolloutState", "")
    return (
        f"{d.get('status')} {svc.revision_of(d.get('taskDefinition'))} {state} running "
        f"{d.get('runningCount', 0)}/{d.get('desiredCount', 0)}"
        + (f", failed {d['failedTasks']}" if d.get("failedTasks") else "")
    )


def _reason(d: dict) -> str:
    """Why a service deployment ended as it did, in AWS's words."""
    reasons = [d.get("statusReason") or ""]
    breaker = d.get("deploymentCircuitBreaker") or {}
    if breaker.get("status") == "TRIGGERED":
        failed = f"{breaker.get('failureCount')}/{breaker.get('threshold')}"
        reasons.append(f"circuit breaker triggered ({failed} tasks failed)")
    alarms = d.get("alarms") or {}
    if alarms.get("status") == "TRIGGERED":
        reasons.append(
            f"alarm(s) {', '.join(alarms.get('triggeredAlarmNames') or ['?'])} triggered"
        )
    rollback = d.get("rollback") or {}
    if rollback.get("reason"):
        reasons.append(f"rollback: {rollback['reason']}")
    return "; ".join(r for r in reasons if r) or "no reason given"


def _legacy_final(service: dict, towards: str, previous: str | None) -> Ended | None:
    """Where a legacy deployment stands once it has ended; None while it moves."""
    deployments = service.get("deployments") or []
    primary = next((d for d in deployments if d.get("status") == "PRIMARY"), None)
    if primary is None:
        return None
    mine = next((d for d in deployments if d.get("taskDefinition") == towards), None)
    td, state = primary.get("taskDefinition"), primary.get("rolloutState")
    reason = (mine or primary).get("rolloutStateReason") or ""
    if td == towards and state == "COMPLETED" and len(deployments) == 1:
        return Ended("succeeded", f"{svc.revision_of(td)} serves", td)
    if td == towards and state == "FAILED":
        breaker = (service.get("deploymentConfiguration") or {}).get("deploymentCircuitBreaker")
        if breaker and breaker.get("rollback"):
            return None  # ECS starts a rollback deployment next
        return Ended("failed", f"the deployment failed: {reason}", td)
    if td != towards and td == previous and towards != previous:
        if state == "COMPLETED" and len(deployments) == 1:
            return Ended(
                "restored", f"ECS rolled back: {reason}; {svc.revision_of(td)} serves again", td
            )
        return None
    if td not in (towards, previous):
        return Ended(
            "broken", f"the PRIMARY deployment runs {svc.revision_of(td)}: another deploy?", td
        )
    return None
