"""The move from App Runner to ECS Express Mode, as data: from a service's
DescribeService answer (plus its auto scaling configuration and VPC connector), the
Express settings that reproduce it -- image, port, variables and secret references,
health check, cpu/memory, scaling, network, roles -- split into what goes in
envs/.env.<env> and what is secret-adjacent (envs/.env.<env>.local), with notes on what
does not map one to one.

Why pure: the plan is what a user reviews; building it reads nothing and changes
nothing, so the test of a realistic DescribeService answer is the whole proof.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from shipwright.aws.secrets import parse_refs
from shipwright.domain import Release
from shipwright.image.reference import ImageRef
from shipwright.redact import REDACTOR
from shipwright.settings import Settings
from shipwright.settings.schema import secret_by_name
from shipwright.targets.apprunner import service as svc

#: What the tool sets itself on every deploy (never copied from the service).
OWN = frozenset({"APP_VERSION"})


@dataclass
class MovePlan:
    service: str  # the App Runner service's name
    settings: dict[str, str] = field(default_factory=dict)  # for envs/.env.<env>
    local: dict[str, str] = field(default_factory=dict)  # secret-adjacent: the .local file
    notes: list[str] = field(default_factory=list)  # to review: what does not map 1:1
    todo: list[str] = field(default_factory=list)  # needed before --apply
    release: Release | None = None  # what App Runner serves (None: not an image by digest)


def plan_move(
    settings: Settings,
    service: dict[str, Any],
    scaling: dict[str, Any] | None = None,
    connector: dict[str, Any] | None = None,
) -> MovePlan:
    plan = MovePlan(service["ServiceName"])
    _image(plan, settings, service)
    runtime = svc.runtime_of(service)
    if runtime.get("Port"):
        _set(plan, settings, "EXPRESS_PORT", str(runtime["Port"]))
    if runtime.get("StartCommand"):
        plan.notes.append(
            f"App Runner overrides the start command ({runtime['StartCommand']!r}); Express "
            "runs the image's own CMD -- make it the same in the Dockerfile"
        )
    _variables(plan, settings, svc.variables_of(service))
    _secrets(plan, settings, svc.secrets_of(service))
    _health(plan, settings, service.get("HealthCheckConfiguration") or {})
    _instance(plan, settings, service.get("InstanceConfiguration") or {})
    _scaling(plan, settings, scaling)
    _network(plan, settings, service.get("NetworkConfiguration") or {}, connector)
    for key, what in (
        (
            "EXPRESS_EXECUTION_ROLE_ARN",
            "a task execution role (AmazonECSTaskExecutionRolePolicy, "
            "and read access to the secret references)",
        ),
        (
            "EXPRESS_INFRASTRUCTURE_ROLE_ARN",
            "an infrastructure role (AmazonECSInfrastructureRoleforExpressGatewayServices)",
        ),
    ):
        if not settings.get(key):
            plan.todo.append(
                f"{key}: create {what} and set its ARN in envs/.env.{settings.environment}"
            )
    return plan


def _set(plan: MovePlan, settings: Settings, key: str, value: str, *, local: bool = False) -> None:
    """Only what the settings do not already say."""
    if settings.get(key) != value:
        (plan.local if local else plan.settings)[key] = value


def _image(plan: MovePlan, settings: Settings, service: dict[str, Any]) -> None:
    image = svc.image_of(service)
    if image is None:
        plan.todo.append(
            "the service builds from source: Express runs images -- build and push one "
            "(invoke image.push) and pass --image REPO@sha256:… (or --version)"
        )
        return
    ref = ImageRef.parse(image)
    if not ref.pinned:
        plan.todo.append(
            f"App Runner runs {image} by tag: pass --image {ref.repository}@sha256:… (the "
            "digest it runs) so Express runs exactly the same image"
        )
        return
    served = svc.release_of(service, settings.environment)
    plan.release = served
    plan.notes.append(f"image: {image} (release {served.version if served else '?'})")


def _variables(plan: MovePlan, settings: Settings, variables: dict[str, str]) -> None:
    for key, value in sorted(variables.items()):
        if key in OWN:
            continue
        if settings.is_secret(key) or secret_by_name(key):
            REDACTOR.add(value)  # never shown, wherever it is printed or written
            plan.notes.append(
                f"{key} is a plain value in App Runner, but a secret: written to the .local "
                "file for now -- move it to Secrets Manager or SSM and reference it "
                "(AWS_SECRET_REFS); Express would keep the value readable in its configuration"
            )
            _set(plan, settings, key, value, local=True)
        else:
            _set(plan, settings, key, value)


def _secrets(plan: MovePlan, settings: Settings, refs: dict[str, str]) -> None:
    if not refs:
        return
    try:
        known = parse_refs(settings.get("AWS_SECRET_REFS") or "")
    except ValueError:
        known = {}
    template = settings.get("AWS_SECRET_FROM") or ""
    differ = {
        name: arn
        for name, arn in refs.items()
        if known.get(name) != arn and template.replace("{name}", name) != arn
    }
    if differ:
        merged = {**known, **differ}
        plan.local["AWS_SECRET_REFS"] = ",".join(f"{k}={merged[k]}" for k in sorted(merged))
    plan.notes.append(
        f"secrets by reference: {', '.join(sorted(refs))} (the execution role must read them)"
    )


def _health(plan: MovePlan, settings: Settings, health: dict[str, Any]) -> None:
    wanted = settings.items_list("HEALTH_PATHS")
    default = wanted[0] if wanted else "/health"
    if health.get("Protocol") == "HTTP" and health.get("Path"):
        if health["Path"] != default:
            _set(plan, settings, "EXPRESS_HEALTH_PATH", health["Path"])
    else:
        plan.notes.append(
            f"App Runner checks TCP; Express's load balancer checks HTTP {default} "
            "(EXPRESS_HEALTH_PATH): the app must answer 200 there"
        )


def _instance(plan: MovePlan, settings: Settings, instance: dict[str, Any]) -> None:
    if instance.get("Cpu"):
        _set(plan, settings, "EXPRESS_CPU", units(instance["Cpu"], 1024))
    if instance.get("Memory"):
        _set(plan, settings, "EXPRESS_MEMORY", units(instance["Memory"], 1024))
    if instance.get("InstanceRoleArn"):
        _set(plan, settings, "EXPRESS_TASK_ROLE_ARN", instance["InstanceRoleArn"])


def units(text: str, per: int) -> str:
    """App Runner's "1 vCPU" / "2 GB" (or "1024" / "2048") as ECS units / MiB."""
    match = re.fullmatch(r"\s*([\d.]+)\s*(vCPU|GB)?\s*", str(text))
    if not match:
        return str(text)
    number = float(match.group(1))
    return str(int(number * per)) if match.group(2) else str(int(number))


def _scaling(plan: MovePlan, settings: Settings, scaling: dict[str, Any] | None) -> None:
    if not scaling:
        return
    _set(plan, settings, "EXPRESS_MIN_TASKS", str(scaling.get("MinSize", 1)))
    _set(plan, settings, "EXPRESS_MAX_TASKS", str(scaling.get("MaxSize", 25)))
    plan.notes.append(
        f"App Runner scales on concurrency ({scaling.get('MaxConcurrency', '?')} requests per "
        f"instance); Express scales on {settings['EXPRESS_SCALING_METRIC']} to "
        f"{settings['EXPRESS_SCALING_TARGET']} (EXPRESS_SCALING_METRIC / _TARGET): review"
    )


def _network(plan: MovePlan, settings: Settings, network: dict, connector: dict | None) -> None:
    egress = network.get("EgressConfiguration") or {}
    if egress.get("EgressType") == "VPC" and connector:
        _set(plan, settings, "EXPRESS_SUBNETS", ",".join(connector.get("Subnets") or []))
        _set(
            plan,
            settings,
            "EXPRESS_SECURITY_GROUPS",
            ",".join(connector.get("SecurityGroups") or []),
        )
        plan.notes.append(
            "network: the VPC connector's subnets and security groups; with private subnets "
            "Express makes an internal load balancer (PRIVATE endpoint)"
        )
    ingress = network.get("IngressConfiguration") or {}
    if ingress.get("IsPubliclyAccessible") is False:
        plan.notes.append("App Runner serves privately (VPC ingress): give Express private subnets")


def lines(plan: MovePlan, environment: str) -> list[str]:
    """The plan as a reviewer reads it (secret-adjacent values masked)."""
    out = [f"move App Runner {plan.service} -> ECS Express Mode ({environment})"]
    for title, values, where in (
        ("settings", plan.settings, f"envs/.env.{environment}"),
        ("secret-adjacent", plan.local, f"envs/.env.{environment}.local"),
    ):
        out.append(f"{title} for {where}:" if values else f"{title}: nothing to add to {where}")
        out += [f"  {k}={REDACTOR.redact(v)}" for k, v in sorted(values.items())]
    out += [f"review: {note}" for note in plan.notes]
    out += [f"needed before --apply: {item}" for item in plan.todo]
    return out
