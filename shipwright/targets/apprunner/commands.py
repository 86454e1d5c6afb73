"""What the apprunner.* tasks do, without Invoke: validate the repository's
apprunner.yaml, and move an environment's App Runner service to ECS Express Mode.

The move reads the App Runner service and never changes it. Without --write or --apply
it prints the plan and changes nothing anywhere; --write puts the settings into the
environment's files (for review in a diff); --apply also creates the Express service
beside App Runner's, deploys the same release through the one flow, verifies and
smoke-tests it on its own endpoint, and prints the cut-over steps and the way back.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from shipwright.aws.clients import AwsClients
from shipwright.errors import ConfigError
from shipwright.flow import commands as flow
from shipwright.flow.release import release_for
from shipwright.output import say, status
from shipwright.runner import Runner
from shipwright.settings import Settings
from shipwright.settings.envblock import write_block
from shipwright.settings.settings import Source
from shipwright.targets import open_target
from shipwright.targets.apprunner import move, source
from shipwright.targets.apprunner import service as svc
from shipwright.targets.apprunner.config import AppRunnerConfig
from shipwright.targets.base import Target

MARKS = (
    "# >>> written by `invoke apprunner.migrate`: ECS Express Mode (review)",
    "# <<< apprunner.migrate",
)


def validate(settings: Settings) -> None:
    config = AppRunnerConfig.from_settings(settings)
    data = source.load(config.config_file, settings)
    status(True, f"{config.config_file.name}: version {data['version']}, runtime {data['runtime']}")


def migrate(
    settings: Settings,
    runner: Runner,
    *,
    write: bool = False,
    apply: bool = False,
    version: str | None = None,
    image: str | None = None,
    yes: bool = False,
    clients: AwsClients | None = None,
    express: Callable[[Settings], Target] | None = None,
) -> move.MovePlan:
    """The plan (printed); with ``write``/``apply`` as the module says. ``clients`` and
    ``express`` (the Express target for given settings): tests' Stubber-backed ones."""
    clients = clients or AwsClients(settings)
    clients.require_credentials()
    service, scaling, connector = read(clients, AppRunnerConfig.from_settings(settings))
    plan = move.plan_move(settings, service, scaling, connector)
    if version or image:
        plan.release = release_for(settings, runner, version, image)
        plan.todo = [t for t in plan.todo if "--image" not in t]
    for line in move.lines(plan, settings.environment):
        say(line)
    if not (write or apply):
        say(
            "nothing changed: --write puts these settings in the files, --apply also "
            "creates the Express service beside App Runner's"
        )
        return plan
    if apply and plan.todo:
        raise ConfigError("cannot --apply yet:\n  " + "\n  ".join(plan.todo))
    for path, values in files(settings, plan):
        runner.api(f"write {len(values)} setting(s) to {path}", write_block, path, values, MARKS)
    if apply:
        _apply(settings, runner, plan, service, clients, yes, express)
    return plan


def read(clients: AwsClients, config: AppRunnerConfig) -> tuple[dict, dict | None, dict | None]:
    """The App Runner service, its auto scaling configuration, its VPC connector."""
    service = svc.describe(clients, svc.resolve_arn(clients, config))
    client = clients("apprunner")
    scaling = connector = None
    arn = (service.get("AutoScalingConfigurationSummary") or {}).get("AutoScalingConfigurationArn")
    with svc.apprunner_errors(clients, "reading the service's auto scaling and network"):
        if arn:
            scaling = client.describe_auto_scaling_configuration(AutoScalingConfigurationArn=arn)[
                "AutoScalingConfiguration"
            ]
        egress = (service.get("NetworkConfiguration") or {}).get("EgressConfiguration") or {}
        if egress.get("VpcConnectorArn"):
            connector = client.describe_vpc_connector(VpcConnectorArn=egress["VpcConnectorArn"])[
                "VpcConnector"
            ]
    return service, scaling, connector


def files(settings: Settings, plan: move.MovePlan) -> list[tuple[Path, dict[str, str]]]:
    """The tracked env file gets the settings; the user's untracked .local file the
    secret-adjacent values."""
    tracked = settings.root / "envs" / f".env.{settings.environment}"
    local = tracked.with_name(f"{tracked.name}.local")
    return [(p, v) for p, v in ((tracked, plan.settings), (local, plan.local)) if v]


def _apply(settings, runner, plan: move.MovePlan, service: dict, clients, yes, express) -> None:
    """Create and deploy the Express service beside App Runner's, on its own endpoint."""
    overrides = {**plan.settings, **plan.local, "DEPLOY_TARGET": "ecs-express", "APP_URL": ""}
    on_express = Settings(
        settings.environment,
        {**settings.values, **overrides},
        {**settings.sources, **{key: Source("apprunner.migrate") for key in overrides}},
        settings.root,
        settings.files,
        settings.schema,
    )
    express = (express or (lambda s: open_target(s, runner)))(on_express)
    say(f"→ deploying {plan.release.version} to a new Express service beside {plan.service}")
    result = flow.deploy(
        on_express,
        runner,
        release=plan.release,
        reason=f"apprunner.migrate: {plan.service} -> ECS Express Mode",
        gates=False,
        watch=False,
        yes=yes,
        target=express,
    )
    endpoint = express.app_url()  # known since verify reached it
    for line in cut_over(settings, plan, service, _domains(clients, service), endpoint, result):
        say(line)


def _domains(clients: AwsClients, service: dict[str, Any]) -> list[str]:
    with svc.apprunner_errors(clients, "listing the service's custom domains"):
        got = clients("apprunner").describe_custom_domains(ServiceArn=service["ServiceArn"])
    return [d["DomainName"] for d in got.get("CustomDomains", [])]


def cut_over(settings, plan, service, domains, endpoint, result) -> list[str]:
    env = settings.environment
    where = endpoint or "the Express endpoint (invoke status --env " + env + " with ecs-express)"
    names = ", ".join(domains) or "your domain"
    first = domains[0] if domains else "DOMAIN"
    old = svc.url_of(service)
    return [
        f"✔ {plan.release.version if plan.release else '?'} serves on Express at {where}; "
        f"App Runner's {plan.service} was not changed and still serves {old}",
        "cut-over, when you are ready:",
        f"  1. lower the TTL of {names}; add a certificate for it to the Express service's "
        "load balancer (ACM), so it answers HTTPS for that name",
        f"  2. point {names} at {where} instead of {old}",
        f"  3. set DEPLOY_TARGET=ecs-express (and APP_URL=https://{first}) in envs/.env.{env}; "
        f"from then on invoke deploy --env {env} deploys to Express",
        f"  4. when traffic has moved and stayed healthy, pause App Runner's {plan.service} "
        "(aws apprunner pause-service), later delete it",
        "rollback path:",
        f"  before step 2 nothing changed for users; after it, point {names} back at {old} and "
        f"set DEPLOY_TARGET=apprunner again -- App Runner still runs "
        f"{svc.image_of(service) or 'its source build'}",
        "  to remove the Express service: aws ecs delete-express-gateway-service --service-arn "
        "<its ARN> (invoke status shows it)",
        f"  ledger: the Express deploy is entry {result.entry.id if result.entry else '-'}",
    ]
