"""Task definition revisions of the family: register one for a release (or reuse the
newest when it is the same), find the one a rollback returns to, and retention.

Why retention is careful: ecs-deploy once deregistered the revision the circuit breaker
had just rolled back to. Here a revision is deregistered only when it is ours (labelled
for this environment), no deployment of the service runs it, and its image is not one
the ledger may still roll back to.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from shipwright.aws.clients import AwsClients
from shipwright.domain import Release
from shipwright.output import say
from shipwright.runner import Runner
from shipwright.targets.ecs import service as svc
from shipwright.targets.ecs import taskdef
from shipwright.targets.ecs.config import EcsConfig

#: How far back a rollback looks for the revision of a release before registering anew.
SEARCH_DEPTH = 50


class Revisions:
    def __init__(self, clients: AwsClients, config: EcsConfig, runner: Runner):
        self.clients, self.config, self.runner = clients, config, runner

    @property
    def ecs(self) -> Any:
        return self.clients("ecs")

    def describe(self, arn: str) -> dict[str, Any]:
        with svc.ecs_errors(self.clients, f"describing {svc.revision_of(arn)}"):
            return self.ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"]

    def active(self, limit: int | None = None) -> list[str]:
        """ACTIVE revision ARNs of the family, newest first."""
        arns: list[str] = []
        with svc.ecs_errors(self.clients, f"listing the family {self.config.family}"):
            pages = self.ecs.get_paginator("list_task_definitions").paginate(
                familyPrefix=self.config.family, status="ACTIVE", sort="DESC"
            )
            for page in pages:
                arns += [a for a in page.get("taskDefinitionArns", []) if self._in_family(a)]
        # newest first whatever order the endpoint lists them in
        arns.sort(key=lambda arn: int(arn.rsplit(":", 1)[-1]), reverse=True)
        return arns[:limit] if limit else arns

    def _in_family(self, arn: str) -> bool:
        return svc.revision_of(arn).rsplit(":", 1)[0] == self.config.family

    def register(self, rendered: dict[str, Any], release: Release) -> str:
        """The ARN to deploy: the newest ACTIVE revision when it is the same, else a new one."""
        newest = self.active(limit=1)
        if newest and taskdef.same(self.describe(newest[0]), rendered):
            say(f"– {svc.revision_of(newest[0])} already is this task definition: reused")
            return newest[0]
        with svc.ecs_errors(self.clients, "registering the task definition"):
            image = rendered_image(rendered, self.config)
            got = self.runner.api(
                f"register_task_definition {self.config.family} (image {image})",
                self.ecs.register_task_definition,
                **rendered,
            )
        if got is None:  # --dry-run
            return f"{self.config.family}:(new)"
        return got["taskDefinition"]["taskDefinitionArn"]

    def of_release(self, release: Release) -> str | None:
        """The newest ACTIVE revision of this environment that runs ``release``'s image."""
        for arn in self.active(limit=SEARCH_DEPTH):
            found = taskdef.release_of(self.describe(arn), self.config, self.config.environment)
            if (
                found
                and found.image == taskdef.pinned(release.image)
                and found.environment == self.config.environment
            ):
                return arn
        return None

    def prune(self, needed: Iterable[str], service: dict[str, Any]) -> list[str]:
        """Deregister our revisions nobody needs; the ARNs deregistered."""
        keep_images = {taskdef.pinned(i) for i in needed}
        running = {d.get("taskDefinition") for d in service.get("deployments") or []}
        running |= {t.get("taskDefinition") for t in service.get("taskSets") or []}
        running.add(service.get("taskDefinition"))
        dropped = []
        for arn in self.active():
            if arn in running:
                continue
            described = self.describe(arn)
            release = taskdef.release_of(described, self.config, "")
            if release is None or release.environment != self.config.environment:
                continue  # not ours (or another environment's): left alone
            if release.image in keep_images:
                continue
            with svc.ecs_errors(self.clients, f"deregistering {svc.revision_of(arn)}"):
                self.runner.api(
                    f"deregister_task_definition {svc.revision_of(arn)} ({release.version})",
                    self.ecs.deregister_task_definition,
                    taskDefinition=arn,
                )
            dropped.append(arn)
        return dropped


def rendered_image(rendered: dict[str, Any], config: EcsConfig) -> str:
    for container in rendered.get("containerDefinitions", []):
        if container.get("name") == config.container:
            return container.get("image", "")
    return ""
