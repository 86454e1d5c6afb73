"""The ECS Express Mode target: a release is the image (by digest) the service's
PRIMARY deployment runs, with the app's variables and its secrets as references.

deploy = check the secret references exist -> CreateExpressGatewayService on the first
deploy, UpdateExpressGatewayService afterwards -> the new service revision's task
definition -> follow the service deployment to its real end with the ECS target's
tracker (Express updates are canary deployments that roll back on alarms: a rollback is
``restored``, exit 3; a timeout or Ctrl-C asks ECS to roll back). The endpoint Express
made is the app's URL when APP_URL is unset.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from shipwright.aws import secrets
from shipwright.aws.clients import AwsClients
from shipwright.aws.logs import LogReader
from shipwright.aws.state import S3LedgerStore, S3LockStore, state_location
from shipwright.aws.target import AwsTarget
from shipwright.domain import Check, Checks, Outcome, Plan, Release, Run, Status
from shipwright.errors import ConfigError
from shipwright.image.reference import ImageRef
from shipwright.output import say
from shipwright.runner import Runner
from shipwright.settings import Settings
from shipwright.targets.ecs.revisions import Revisions
from shipwright.targets.ecs.runtask import run_once
from shipwright.targets.ecs.service import primary_task_definition, revision_of, settled
from shipwright.targets.ecs.status import status_of
from shipwright.targets.ecs.stopped import StoppedTasks
from shipwright.targets.ecs.tracker import Ended, Tracker
from shipwright.targets.ecs_express import request
from shipwright.targets.ecs_express import service as svc
from shipwright.targets.ecs_express.config import ExpressConfig
from shipwright.targets.ecs_express.oneoff import task_definition_for
from shipwright.targets.ecs_express.status import express_notes


class ExpressTarget(AwsTarget):
    name = "ecs-express"

    def __init__(
        self,
        settings: Settings,
        runner: Runner | None = None,
        *,
        clients: AwsClients | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        super().__init__(settings, runner, clients, ExpressConfig.from_settings(settings))
        self.clock, self.sleep = clock, sleep
        self._url: str | None = None

    # -- storage for the flow ---------------------------------------------------------
    def lock_store(self) -> S3LockStore:
        return S3LockStore(self.clients, *state_location(self.settings))

    def ledger_store(self) -> S3LedgerStore:
        return S3LedgerStore(self.clients, *state_location(self.settings))

    # -- reading ------------------------------------------------------------------------
    def ecs_service(self) -> dict[str, Any]:
        found = svc.find(self.clients, self.config)
        if found is None:
            source = self.settings.sources.get("EXPRESS_SERVICE", "default: APP_NAME-<environment>")
            raise ConfigError(
                f"EXPRESS_SERVICE={self.config.service} (set by {source}) does not exist in "
                f"EXPRESS_CLUSTER={self.config.cluster} yet: invoke deploy creates it"
            )
        return found

    def serving(self, service: dict[str, Any] | None = None) -> svc.Revision | None:
        arn = primary_task_definition(service or self.ecs_service())
        return svc.revision(self.clients, arn, self.config) if arn else None

    def connect(self) -> None:
        """Nothing up front: clients connect on their first call."""

    def app_url(self) -> str | None:
        """The endpoint Express made (known once the service exists)."""
        if self._url is None:
            found = svc.find(self.clients, self.config)
            if found:
                self._url = svc.endpoint(svc.express(self.clients, found["serviceArn"]))
        return self._url

    # -- Target protocol ----------------------------------------------------------------
    def plan(self, release: Release, action: str = "deploy") -> Plan:
        found = svc.find(self.clients, self.config)
        args = request.container(self.settings, self.config, release)
        refs = ", ".join(s["name"] for s in args["secrets"]) or "none"
        what = (
            f"image {args['image']}, port {args['containerPort']}, health check "
            f"{self.config.health_path}, {len(args['environment'])} variables, secrets by "
            f"reference: {refs}"
        )
        if found is None:
            request.create_arguments(self.settings, self.config, release)  # refuses early
            steps = [
                f"create_express_gateway_service {self.config.cluster}/{self.config.service}: "
                f"{what}; {self.config.cpu} CPU / {self.config.memory} MiB, "
                f"{self.config.min_tasks}-{self.config.max_tasks} tasks"
            ]
        else:
            before = self.serving(found)
            steps = [
                f"update_express_gateway_service {self.config.service}: "
                f"{before.version if before else '-'} -> {release.version}: {what}"
            ]
        steps.append(
            "follow the canary deployment until SUCCESSFUL with the PRIMARY on the new "
            f"revision; on failure, timeout ({self.config.deploy_timeout:.0f}s) or Ctrl-C: "
            "ECS rolls back to the previous revision"
        )
        return Plan(self.name, release, steps)

    def deploy(self, release: Release) -> Outcome:
        return self._move(release, create=True)

    def rollback(self, to: Release) -> Outcome:
        return self._move(to, create=False)

    def verify(self, release: Release) -> Checks:
        service = self.ecs_service()
        serving = self.serving(service)
        wanted = ImageRef.parse(release.image).by_digest()
        counts = f"{service.get('runningCount', 0)}/{service.get('desiredCount', 0)} running"
        return Checks(
            [
                Check(
                    f"{self.config.service}: the PRIMARY deployment runs {release.version}",
                    bool(serving) and serving.image == wanted,
                    f"{revision_of(serving.arn if serving else None)} "
                    f"({serving.version if serving else 'unknown'})",
                ),
                Check(f"{self.config.service}: settled", settled(service), counts),
            ]
        )

    def current(self) -> Release | None:
        found = svc.find(self.clients, self.config)
        serving = self.serving(found) if found else None
        return serving.release(self.settings.environment) if serving else None

    def status(self) -> Status:
        service = self.ecs_service()
        serving = self.serving(service)
        versions = {}
        for d in service.get("deployments") or []:
            arn = d.get("taskDefinition")
            if arn and arn not in versions:
                versions[arn] = svc.revision(self.clients, arn, self.config).version
        express = svc.express(self.clients, service["serviceArn"])
        current = None
        if service.get("currentServiceDeployment"):
            with svc.express_errors(self.clients, "describing the current service deployment"):
                got = self.clients("ecs").describe_service_deployments(
                    serviceDeploymentArns=[service["currentServiceDeployment"]]
                )
            current = (got.get("serviceDeployments") or [None])[0]
        release = serving.release(self.settings.environment) if serving else None
        state = status_of(
            service, versions, release, [], serving.container if serving else "", current
        )
        state.notes[1:1] = express_notes(express)
        state.data["express"] = express
        return state

    def logs(self, follow: bool = False, since: str | None = None) -> None:
        serving = self.serving()
        if serving is None:
            say(f"– {self.config.service} runs nothing yet")
            return
        reader = LogReader(
            self.clients,
            serving.log_group,
            stream_prefix=serving.stream_prefix,
            setting="EXPRESS_LOG_GROUP",
        )
        if (
            not reader.tail(since, follow, interval=max(self.config.poll_seconds, 1.0))
            and not follow
        ):
            say(f"– no log events in {serving.log_group} since {since or '10m'}")

    def run(
        self, release: Release, command: Sequence[str], env: Mapping[str, str] | None = None
    ) -> Run:
        service = self.ecs_service()
        serving = self.serving(service)
        if serving is None:
            raise ConfigError(f"{self.config.service} runs no task definition yet: deploy first")
        ecs = self.config.ecs(self.config.run_family, serving.container, serving.log_group)
        arn = task_definition_for(
            self.settings, Revisions(self.clients, ecs, self.runner), serving, release
        )
        stopped = StoppedTasks(self.clients, ecs, serving.stream_prefix)
        return run_once(
            self.clients,
            ecs,
            self.runner,
            stopped,
            task_definition=arn,
            service=service,
            command=command,
            env=env,
        )

    def prune(self, needed: Iterable[str]) -> None:
        """Our one-off revisions no good release needs; Express's own are Express's."""
        family = self.config.ecs(self.config.run_family, "", "")
        if not Revisions(self.clients, family, self.runner).active(limit=1):
            return
        serving = self.serving()  # our copies name the app container as it does
        ecs = self.config.ecs(self.config.run_family, serving.container if serving else "", "")
        dropped = Revisions(self.clients, ecs, self.runner).prune(needed, {})
        if dropped:
            say(f"– {len(dropped)} unneeded one-off revision(s) of {ecs.family} deregistered")

    def close(self) -> None:
        self.clients.close()

    # -- internals ------------------------------------------------------------------------
    def _move(self, release: Release, *, create: bool) -> Outcome:
        """Create (first deploy) or update the service to ``release``, followed to its end."""
        began = time.monotonic()
        refs = secrets.secret_refs(self.settings, self.settings.app_environment())
        secrets.check_exist(self.clients, self.settings, refs)
        before = svc.find(self.clients, self.config)
        if before is None and not create:
            self.ecs_service()  # raises: there is nothing to roll back
        ecs = self.clients("ecs")
        if before is None:
            args = request.create_arguments(self.settings, self.config, release)
            with svc.express_errors(self.clients, "creating the Express service"):
                made = self.runner.api(
                    f"create_express_gateway_service {self.config.cluster}/{self.config.service} "
                    f"({release.version})",
                    ecs.create_express_gateway_service,
                    **args,
                )["service"]
            revision_arn = made["activeConfigurations"][0]["serviceRevisionArn"]
            updated, previous = {"currentServiceDeployment": made.get("currentDeployment")}, None
        else:
            serving = self.serving(before)
            previous = serving.arn if serving else None
            if (
                serving
                and serving.image == ImageRef.parse(release.image).by_digest()
                and settled(before)
            ):
                ended = Ended(
                    "succeeded", f"{revision_of(previous)} already runs {release.version}"
                )
                return self._outcome(release, ended, began)
            args = request.update_arguments(
                self.settings, self.config, release, before["serviceArn"]
            )
            with svc.express_errors(self.clients, "updating the Express service"):
                got = self.runner.api(
                    f"update_express_gateway_service {self.config.service} -> {release.version}",
                    ecs.update_express_gateway_service,
                    **args,
                )["service"]
            revision_arn = got["targetConfiguration"]["serviceRevisionArn"]
            updated = {}
        new = svc.revision(
            self.clients, svc.revision_task_definition(self.clients, revision_arn), self.config
        )
        config = self.config.ecs(new.family, new.container, new.log_group)
        stopped = StoppedTasks(self.clients, config, new.stream_prefix)
        tracker = Tracker(
            self.clients, config, self.runner, stopped, clock=self.clock, sleep=self.sleep
        )
        ended = tracker.follow(before or {}, updated, new.arn, previous)
        return self._outcome(release, ended, began)

    def _outcome(self, release: Release, ended: Ended, began: float) -> Outcome:
        phases = {"rollout": time.monotonic() - began}
        return Outcome.of_service(release, self.config.service, ended.state, ended.detail, phases)
