"""The ECS target: a release is a task definition revision the service runs.

deploy = render the repository's template for the release -> check the secret
references exist -> register (or reuse) the revision -> update the service (or create a
CodeDeploy deployment for CODE_DEPLOY services) -> follow the deployment to its real end
(:mod:`tracker`). Every client comes from one :class:`~shipwright.aws.clients.AwsClients`,
so tests drive this whole path with Stubber-wrapped clients and the CLI runs it against
a local AWS endpoint or AWS itself.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from shipwright.aws import secrets
from shipwright.aws.clients import AwsClients
from shipwright.aws.logs import LogReader
from shipwright.aws.state import S3LedgerStore, S3LockStore
from shipwright.aws.target import AwsTarget
from shipwright.domain import Check, Checks, Outcome, Plan, Release, Run, Status
from shipwright.errors import ConfigError
from shipwright.output import say
from shipwright.runner import Runner
from shipwright.settings import Settings
from shipwright.targets.ecs import service as svc
from shipwright.targets.ecs import taskdef
from shipwright.targets.ecs.codedeploy import CodeDeployMove
from shipwright.targets.ecs.config import EcsConfig
from shipwright.targets.ecs.revisions import Revisions, rendered_image
from shipwright.targets.ecs.runtask import run_once
from shipwright.targets.ecs.status import status_of
from shipwright.targets.ecs.stopped import StoppedTasks
from shipwright.targets.ecs.tracker import Ended, Tracker


class EcsTarget(AwsTarget):
    name = "ecs"

    def __init__(
        self,
        settings: Settings,
        runner: Runner | None = None,
        *,
        clients: AwsClients | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        super().__init__(settings, runner, clients, EcsConfig.from_settings(settings))
        self.stopped = StoppedTasks(self.clients, self.config, self._stream_prefix())
        self.revisions = Revisions(self.clients, self.config, self.runner)
        moves = (self.clients, self.config, self.runner, self.stopped)
        self.tracker = Tracker(*moves, clock=clock, sleep=sleep)
        self.codedeploy = CodeDeployMove(*moves, clock=clock, sleep=sleep)

    # -- storage for the flow ---------------------------------------------------------------
    def lock_store(self) -> S3LockStore:
        return S3LockStore(self.clients, self.config.bucket, self.config.state_prefix)

    def ledger_store(self) -> S3LedgerStore:
        return S3LedgerStore(self.clients, self.config.bucket, self.config.state_prefix)

    # -- the task definition -------------------------------------------------------------------
    def render(self, release: Release) -> dict[str, Any]:
        return taskdef.render(self.settings, self.config, release)

    def serving_definition(self) -> dict[str, Any] | None:
        arn = svc.primary_task_definition(self.service())
        return self.revisions.describe(arn) if arn else None

    def service(self) -> dict[str, Any]:
        return svc.describe(self.clients, self.config)

    # -- Target protocol ------------------------------------------------------------------------
    def plan(self, release: Release, action: str = "deploy") -> Plan:
        service = self.service()
        previous = svc.primary_task_definition(service)
        steps = []
        existing = self.revisions.of_release(release) if action == "rollback" else None
        if existing:
            steps.append(f"reuse {svc.revision_of(existing)} (it runs {release.version})")
        else:
            rendered = self.render(release)
            app = next(
                c for c in rendered["containerDefinitions"] if c["name"] == self.config.container
            )
            refs = ", ".join(s["name"] for s in app.get("secrets", [])) or "none"
            steps.append(
                f"register a revision of {self.config.family}: "
                f"image {rendered_image(rendered, self.config)}, "
                f"{len(app.get('environment', []))} variables, secrets by reference: {refs}"
            )
        target = svc.revision_of(existing) if existing else f"{self.config.family}:(new)"
        if svc.controller(service) == "CODE_DEPLOY":
            app_, group = self.codedeploy.names()
            steps.append(
                f"codedeploy create_deployment {app_}/{group} with an AppSpec for {target}"
            )
        else:
            steps.append(
                f"update_service {self.config.cluster}/{self.config.service} "
                f"{svc.revision_of(previous)} -> {target} ({svc.strategy(service)})"
            )
        steps.append(
            "follow the deployment until SUCCESSFUL with the PRIMARY on it; on failure, "
            f"timeout ({self.config.deploy_timeout:.0f}s) or Ctrl-C: roll back to "
            f"{svc.revision_of(previous)}"
        )
        return Plan(self.name, release, steps)

    def deploy(self, release: Release) -> Outcome:
        began = time.monotonic()
        before = self._movable(self.service())
        arn = self._register(release)
        return self._move(release, arn, before, {"register": time.monotonic() - began})

    def rollback(self, to: Release) -> Outcome:
        began = time.monotonic()
        before = self._movable(self.service())
        arn = self.revisions.of_release(to)
        if arn is None:
            say(f"– no ACTIVE revision runs {to.version} any more: registering it again")
            arn = self._register(to)
        return self._move(to, arn, before, {"register": time.monotonic() - began})

    def verify(self, release: Release) -> Checks:
        service = self.service()
        primary = svc.primary_task_definition(service)
        serving = self._release_of(primary)
        wanted = taskdef.pinned(release.image)
        counts = f"{service.get('runningCount', 0)}/{service.get('desiredCount', 0)} running"
        deployments = len(service.get("deployments") or [])
        return Checks(
            [
                Check(
                    f"{self.config.service}: the PRIMARY deployment runs {release.version}",
                    bool(serving) and serving.image == wanted,
                    f"{svc.revision_of(primary)} ({serving.version if serving else 'unknown'})",
                ),
                Check(
                    f"{self.config.service}: settled",
                    svc.settled(service),
                    f"{counts}, {deployments} deployment(s)",
                ),
            ]
        )

    def current(self) -> Release | None:
        return self._release_of(svc.primary_task_definition(self.service()))

    def status(self) -> Status:
        service = self.service()
        tds = {d.get("taskDefinition") for d in service.get("deployments") or []}
        tds |= {t.get("taskDefinition") for t in service.get("taskSets") or []}
        versions = {}
        for arn in filter(None, tds):
            found = self._release_of(arn)
            versions[arn] = found.version if found else "-"
        primary = svc.primary_task_definition(service)
        serving = self._release_of(primary)
        current = None
        if service.get("currentServiceDeployment"):
            with svc.ecs_errors(self.clients, "describing the current service deployment"):
                got = self.clients("ecs").describe_service_deployments(
                    serviceDeploymentArns=[service["currentServiceDeployment"]]
                )
            current = (got.get("serviceDeployments") or [None])[0]
        with svc.ecs_errors(self.clients, "listing stopped tasks"):
            arns = self.clients("ecs").list_tasks(
                cluster=self.config.cluster, family=self.config.family, desiredStatus="STOPPED"
            )["taskArns"][:10]
            stopped = (
                self.clients("ecs").describe_tasks(cluster=self.config.cluster, tasks=arns)["tasks"]
                if arns
                else []
            )
        return status_of(service, versions, serving, stopped, self.config.container, current)

    def connect(self) -> None:
        """Nothing up front: clients connect on their first call."""

    def app_url(self) -> str | None:
        """None: the app's URL is the team's own (APP_URL: a load balancer, a domain)."""
        return None

    def logs(self, follow: bool = False, since: str | None = None) -> None:
        reader = LogReader(
            self.clients, self.config.log_group, stream_prefix=self.stopped.stream_prefix
        )
        if (
            not reader.tail(since, follow, interval=max(self.config.poll_seconds, 1.0))
            and not follow
        ):
            say(f"– no log events in {self.config.log_group} since {since or '10m'}")

    def run(
        self, release: Release, command: Sequence[str], env: Mapping[str, str] | None = None
    ) -> Run:
        arn = self.revisions.of_release(release) or self._register(release)
        return run_once(
            self.clients,
            self.config,
            self.runner,
            self.stopped,
            task_definition=arn,
            service=self.service(),
            command=command,
            env=env,
        )

    def prune(self, needed: Iterable[str]) -> None:
        dropped = self.revisions.prune(needed, self.service())
        if dropped:
            say(f"– {len(dropped)} unneeded revision(s) of {self.config.family} deregistered")

    def close(self) -> None:
        self.clients.close()

    # -- internals ------------------------------------------------------------------------------
    def _register(self, release: Release) -> str:
        rendered = self.render(release)
        refs = secrets.secret_refs(self.settings, self.settings.app_environment())
        secrets.check_exist(self.clients, self.settings, refs)
        return self.revisions.register(rendered, release)

    def _movable(self, service: dict[str, Any]) -> dict[str, Any]:
        """``service``, once it is known this target can move it (before anything changes)."""
        kind = svc.controller(service)
        if kind == "CODE_DEPLOY":
            self.codedeploy.names()
        elif kind == "EXTERNAL":
            raise ConfigError(
                f"the service {self.config.service} uses the EXTERNAL deployment controller: "
                "its task sets are managed outside ECS; deploy with that tool"
            )
        return service

    def _move(self, release: Release, arn: str, before: dict, phases: dict[str, float]) -> Outcome:
        began = time.monotonic()
        previous = svc.primary_task_definition(before)
        if arn == previous and svc.settled(before):
            ended = Ended("succeeded", f"{svc.revision_of(arn)} already serves", arn)
        elif svc.controller(before) == "CODE_DEPLOY":
            ended = self.codedeploy.deploy(before, arn, previous)
        else:
            with svc.ecs_errors(self.clients, "updating the service"):
                updated = self.runner.api(
                    f"update_service {self.config.cluster}/{self.config.service} "
                    f"{svc.revision_of(previous)} -> {svc.revision_of(arn)} "
                    f"({svc.strategy(before)})",
                    self.clients("ecs").update_service,
                    cluster=self.config.cluster,
                    service=self.config.service,
                    taskDefinition=arn,
                )
            ended = self.tracker.follow(before, updated["service"], arn, previous)
        phases["rollout"] = time.monotonic() - began
        return Outcome.of_service(release, self.config.service, ended.state, ended.detail, phases)

    def _release_of(self, arn: str | None) -> Release | None:
        if not arn:
            return None
        return taskdef.release_of(
            self.revisions.describe(arn), self.config, self.settings.environment
        )

    def _stream_prefix(self) -> str:
        """awslogs streams are PREFIX/CONTAINER/TASK-ID; the prefix is the template's."""
        try:
            template = taskdef.load_template(self.config, self.settings)
        except ConfigError:
            return self.config.stream_prefix()
        for container in template["containerDefinitions"]:
            if container.get("name") == self.config.container:
                options = (container.get("logConfiguration") or {}).get("options") or {}
                return self.config.stream_prefix(options.get("awslogs-stream-prefix", "ecs"))
        return self.config.stream_prefix()
