"""The App Runner target: a release is the image (by digest) an image-based service
runs, with the app's variables and its secrets as references.

deploy = check the secret references exist -> UpdateService -> follow the returned
OperationId to its end (:mod:`operation`); a source-code service is built by App Runner
from its branch with the repository's apprunner.yaml instead (StartDeployment), after
the file is validated. rollback = UpdateService with the ledger's last good image (App
Runner has no rollback call). Every client comes from one AwsClients, so tests drive
the whole path with Stubber-wrapped clients.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from shipwright.aws import secrets
from shipwright.aws.clients import AwsClients
from shipwright.aws.logs import LogReader, tail_all
from shipwright.aws.state import S3LedgerStore, S3LockStore, state_location
from shipwright.aws.target import AwsTarget
from shipwright.domain import Check, Checks, Outcome, Plan, Release, Run, Status
from shipwright.errors import ConfigError
from shipwright.image.reference import ImageRef
from shipwright.output import say
from shipwright.runner import Runner
from shipwright.settings import Settings
from shipwright.targets.apprunner import service as svc
from shipwright.targets.apprunner import source
from shipwright.targets.apprunner.config import AppRunnerConfig
from shipwright.targets.apprunner.operation import Ended, Follower
from shipwright.targets.apprunner.request import update_arguments
from shipwright.targets.apprunner.status import OPERATIONS, status_of

NO_ONE_OFF = (
    "App Runner has no one-off tasks: a command cannot run beside the service. Run it on "
    "ECS instead (an ECS or ECS Express environment: invoke run --env ENV -- CMD), or, for "
    "migrations, from this machine: invoke migrate.up --env {env} --local"
)


class AppRunnerTarget(AwsTarget):
    name = "apprunner"

    def __init__(
        self,
        settings: Settings,
        runner: Runner | None = None,
        *,
        clients: AwsClients | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        super().__init__(settings, runner, clients, AppRunnerConfig.from_settings(settings))
        self.follower = Follower(self.clients, self.config, clock=clock, sleep=sleep)
        self._arn: str | None = None
        self._seen: dict[str, Any] | None = None  # the service as last described

    # -- storage for the flow ---------------------------------------------------------
    def lock_store(self) -> S3LockStore:
        return S3LockStore(self.clients, *state_location(self.settings))

    def ledger_store(self) -> S3LedgerStore:
        return S3LedgerStore(self.clients, *state_location(self.settings))

    # -- the service --------------------------------------------------------------------
    def arn(self) -> str:
        if self._arn is None:
            self._arn = svc.resolve_arn(self.clients, self.config)
        return self._arn

    def service(self) -> dict[str, Any]:
        self._seen = svc.describe(self.clients, self.arn())
        return self._seen

    def connect(self) -> None:
        """Nothing up front: clients connect on their first call."""

    def app_url(self) -> str | None:
        """The service's default domain, for verify and watch when APP_URL is unset."""
        return svc.url_of(self._seen or self.service())

    # -- Target protocol ----------------------------------------------------------------
    def plan(self, release: Release, action: str = "deploy") -> Plan:
        service = self.service()
        name = service["ServiceName"]
        if svc.is_source(service):
            self._source_config(service, action)
            repo = service["SourceConfiguration"]["CodeRepository"]
            steps = [
                f"validate {self.config.config_file.name}",
                f"start_deployment {name}: App Runner builds {repo['RepositoryUrl']}@"
                f"{repo['SourceCodeVersion']['Value']} (the branch's head, not {release.version})",
            ]
        else:
            args = update_arguments(self.settings, service, release)
            image = args["SourceConfiguration"]["ImageRepository"]
            config = image["ImageConfiguration"]
            refs = ", ".join(sorted(config["RuntimeEnvironmentSecrets"])) or "none"
            steps = [
                f"update_service {name}: image {svc.image_of(service)} -> "
                f"{image['ImageIdentifier']}, {len(config['RuntimeEnvironmentVariables'])} "
                f"variables, secrets by reference: {refs}"
            ]
        steps.append(
            "follow the operation through list_operations until it ends (timeout "
            f"{self.config.deploy_timeout:.0f}s); App Runner rolls a failed update back itself"
        )
        return Plan(self.name, release, steps)

    def deploy(self, release: Release) -> Outcome:
        service = self.service()
        if svc.is_source(service):
            return self._start_deployment(release, service)
        return self._update(release, service)

    def rollback(self, to: Release) -> Outcome:
        service = self.service()
        if svc.is_source(service):
            self._source_config(service, "rollback")  # refuses
        return self._update(to, service)

    def verify(self, release: Release) -> Checks:
        service = self.service()
        state = Check(
            f"{service['ServiceName']}: RUNNING",
            service.get("Status") == "RUNNING",
            str(service.get("Status")),
        )
        if svc.is_source(service):
            return Checks([state])
        wanted = ImageRef.parse(release.image).by_digest()
        image = svc.image_of(service)
        runs = Check(
            f"{service['ServiceName']}: runs {release.version}", image == wanted, image or ""
        )
        return Checks([state, runs])

    def current(self) -> Release | None:
        return svc.release_of(self.service(), self.settings.environment)

    def status(self) -> Status:
        service = self.service()
        with svc.apprunner_errors(self.clients, "listing the service's operations"):
            operations = (
                self.clients("apprunner")
                .list_operations(ServiceArn=self.arn(), MaxResults=OPERATIONS)
                .get("OperationSummaryList", [])
            )
        serving = svc.release_of(service, self.settings.environment)
        return status_of(service, operations, serving)

    def logs(self, follow: bool = False, since: str | None = None) -> None:
        """The service's application and service log groups, like ``aws logs tail``."""
        service = self.service()
        wanted = svc.log_groups(service)
        prefix = wanted[0].rsplit("/", 1)[0] + "/"
        with svc.apprunner_errors(self.clients, "listing the service's log groups"):
            found = self.clients("logs").describe_log_groups(logGroupNamePrefix=prefix)
        exist = {g["logGroupName"] for g in found.get("logGroups", [])}
        readers = [
            LogReader(self.clients, g, setting="APPRUNNER_SERVICE") for g in wanted if g in exist
        ]
        if not readers:
            say(f"– {service['ServiceName']} has written no logs yet (no group under {prefix})")
            return
        interval = max(self.config.poll_seconds, 1.0)
        if not tail_all(readers, since, follow, interval) and not follow:
            groups = ", ".join(r.group for r in readers)
            say(f"– no log events in {groups} since {since or '10m'}")

    def run(
        self, release: Release, command: Sequence[str], env: Mapping[str, str] | None = None
    ) -> Run:
        raise ConfigError(NO_ONE_OFF.format(env=self.settings.environment))

    def prune(self, needed: Iterable[str]) -> None:
        """Nothing to prune: App Runner keeps no revisions of ours; the images live in ECR,
        whose lifecycle policy is the team's."""

    def close(self) -> None:
        self.clients.close()

    # -- internals ------------------------------------------------------------------------
    def _update(self, release: Release, service: dict[str, Any]) -> Outcome:
        began = time.monotonic()
        args = update_arguments(self.settings, service, release)
        refs = secrets.secret_refs(self.settings, self.settings.app_environment())
        secrets.check_exist(self.clients, self.settings, refs)
        wanted = args["SourceConfiguration"]["ImageRepository"]["ImageIdentifier"]
        previous = svc.image_of(service)
        if previous == wanted and service.get("Status") == "RUNNING":
            ended = Ended("succeeded", f"{wanted} already serves")
            return self._outcome(release, ended, service, began)
        self._refuse_busy(service)
        with svc.apprunner_errors(self.clients, "updating the App Runner service"):
            started = self.runner.api(
                f"update_service {service['ServiceName']}: {previous} -> {wanted}",
                self.clients("apprunner").update_service,
                **args,
            )
        ended = self.follower.follow(self.arn(), started["OperationId"], wanted, previous)
        return self._outcome(release, ended, service, began)

    def _start_deployment(self, release: Release, service: dict[str, Any]) -> Outcome:
        began = time.monotonic()
        self._source_config(service, "deploy")
        self._refuse_busy(service)
        with svc.apprunner_errors(self.clients, "starting the App Runner deployment"):
            started = self.runner.api(
                f"start_deployment {service['ServiceName']} (App Runner builds the branch)",
                self.clients("apprunner").start_deployment,
                ServiceArn=self.arn(),
            )
        ended = self.follower.follow(self.arn(), started["OperationId"], None, None)
        return self._outcome(release, ended, service, began)

    def _source_config(self, service: dict[str, Any], action: str) -> None:
        """A source service: refuse a rollback (App Runner builds the branch's head), and
        validate apprunner.yaml when the service reads its build settings from it."""
        if action == "rollback":
            raise ConfigError(
                f"{service['ServiceName']} is built by App Runner from its branch: it cannot "
                "return to an earlier release by itself. Revert the commit on the branch and "
                "deploy again (or move the service to an image: see docs/targets/apprunner.md)"
            )
        code = service["SourceConfiguration"]["CodeRepository"].get("CodeConfiguration") or {}
        if code.get("ConfigurationSource") == "REPOSITORY":
            source.load(self.config.config_file, self.settings)
        else:
            say(
                f"– {service['ServiceName']} takes its build settings from the API, not "
                f"{self.config.config_file.name}: they are used as the service has them"
            )

    def _refuse_busy(self, service: dict[str, Any]) -> None:
        if service.get("Status") != "RUNNING":
            raise ConfigError(
                f"{service['ServiceName']} is {service.get('Status')}, not RUNNING: App Runner "
                "takes one operation at a time (see invoke status), nothing was changed"
            )

    def _outcome(self, release, ended: Ended, service: dict[str, Any], began: float) -> Outcome:
        phases = {"rollout": time.monotonic() - began}
        return Outcome.of_service(
            release, service["ServiceName"], ended.state, ended.detail, phases
        )
