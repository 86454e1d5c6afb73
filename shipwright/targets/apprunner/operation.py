"""Following one App Runner operation (the OperationId UpdateService or StartDeployment
returned) through ListOperations until it ends, and saying what its end means.

Why the service is read again at the end: App Runner rolls a failed update back by
itself, and then the service shows RUNNING with the previous image -- a failed deploy
with the previous release serving (``restored``, exit 3), never a success. App Runner
has no call that cancels an operation, so a timeout or Ctrl-C changes nothing: it says
where the operation stands and that App Runner is still working on it (``broken``: a
human must look).
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
from shipwright.targets.apprunner import service as svc
from shipwright.targets.apprunner.config import AppRunnerConfig

FINAL = ("SUCCEEDED", "FAILED", "ROLLBACK_SUCCEEDED", "ROLLBACK_FAILED")
PAGE = 20


@dataclass
class Ended:
    """``succeeded``, ``restored`` (the previous release serves again) or ``broken``."""

    state: str
    detail: str

    @property
    def ok(self) -> bool:
        return self.state == "succeeded"


def find(clients: AwsClients, arn: str, operation_id: str) -> dict[str, Any] | None:
    """The operation's summary (newest operations come first: usually page one)."""
    with svc.apprunner_errors(clients, "listing the service's operations"):
        listed = svc.pages(
            clients("apprunner").list_operations,
            "OperationSummaryList",
            ServiceArn=arn,
            MaxResults=PAGE,
        )
        return next((op for op in listed if op.get("Id") == operation_id), None)


class Follower:
    def __init__(
        self,
        clients: AwsClients,
        config: AppRunnerConfig,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.clients, self.config, self.clock, self.sleep = clients, config, clock, sleep
        self._last = ""

    def follow(
        self, arn: str, operation_id: str, wanted: str | None, previous: str | None
    ) -> Ended:
        """Wait for ``operation_id`` to end; ``wanted`` is the image the service must run
        afterwards (None: a source build), ``previous`` the one it ran before."""
        timeout = self.config.deploy_timeout
        try:
            polled = poll(
                lambda: self._look(arn, operation_id),
                timeout=timeout,
                done=lambda op: op.get("Status") in FINAL,
                interval=self.config.poll_seconds,
                fatal=(ConfigError,),
                clock=self.clock,
                sleep=self.sleep,
            )
        except KeyboardInterrupt:
            return self._unfinished(arn, operation_id, "interrupted (Ctrl-C)")
        if not polled.ok:
            why = f"not finished after {timeout:.0f}s (APPRUNNER_DEPLOY_TIMEOUT)"
            return self._unfinished(arn, operation_id, why, polled.value)
        return judge(polled.value["Status"], svc.describe(self.clients, arn), wanted, previous)

    def _look(self, arn: str, operation_id: str) -> dict[str, Any]:
        found = find(self.clients, arn, operation_id) or {"Id": operation_id, "Status": "PENDING"}
        line = f"{found.get('Type', 'operation')} {found['Status']}"
        if line != self._last:
            self._last = line
            say(f"  apprunner: {line}")
        return found

    def _unfinished(self, arn, operation_id, why, last: dict | None = None) -> Ended:
        status = (last or {}).get("Status") or "unknown"
        say(f"✘ {why}: App Runner cannot cancel an operation, and nothing else was changed")
        return Ended(
            "broken",
            f"{why}: operation {operation_id} is {status} and App Runner is still working on "
            "it (it serves the previous image until the new one is healthy, and rolls back by "
            "itself if it never is); look again with invoke status --env "
            + self.config.environment,
        )


def judge(status: str, service: dict[str, Any], wanted: str | None, previous: str | None) -> Ended:
    """What an ended operation means, from its status and the service as it is now."""
    running = service.get("Status") == "RUNNING"
    image = svc.image_of(service)
    serves = image or "the branch's new build"
    if status == "SUCCEEDED":
        if running and (wanted is None or image == wanted):
            return Ended("succeeded", f"{serves} serves")
        return Ended("broken", f"SUCCEEDED, but the service is {service.get('Status')} on {image}")
    if status in ("FAILED", "ROLLBACK_SUCCEEDED") and running and (image != wanted or not wanted):
        back = image if image and image == previous else "the previous release"
        return Ended("restored", f"{status}: App Runner rolled back; {back} serves again")
    return Ended(
        "broken",
        f"{status}: the service is {service.get('Status')}"
        + (f" on {image}" if image else "")
        + " -- it was not restored",
    )
