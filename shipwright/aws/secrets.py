"""The app's secrets as references (Secrets Manager or SSM Parameter Store ARNs), never
values: which variables are secret, which ARN each comes from, and whether it exists.

Why references only: a task definition, an App Runner service and an Express service
are readable by anyone who may describe them, and are kept in AWS's history; a value put
there is leaked for good. A secret set here with no reference is refused (exit 2) --
the tool never ships a value it would have to write into AWS's configuration.
"""

from __future__ import annotations

from dataclasses import dataclass

from shipwright.errors import ConfigError
from shipwright.settings import Settings

#: DEPLOY_TARGETs whose platform injects secrets from these references.
AWS_TARGETS = frozenset({"ecs", "ecs-express", "apprunner"})


@dataclass(frozen=True)
class SecretRef:
    name: str  # the variable the app reads
    value_from: str  # the ARN (with a JSON key / version for Secrets Manager when given)
    source: str  # the setting and layer it came from

    @property
    def service(self) -> str:
        return "ssm" if self.value_from.split(":")[2] == "ssm" else "secretsmanager"

    @property
    def resource(self) -> str:
        """What to look up: the secret's ARN without a JSON key, or the parameter name."""
        parts = self.value_from.split(":")
        if self.service == "secretsmanager":
            return ":".join(parts[:7])
        name = ":".join(parts[5:]).removeprefix("parameter")
        return name if name.count("/") > 1 else name.lstrip("/")


def parse_refs(text: str) -> dict[str, str]:
    """``NAME=ARN,NAME=ARN`` as a dict; a ValueError saying which pair is wrong."""
    import re

    from shipwright.aws.variables import ARN

    refs: dict[str, str] = {}
    for pair in (p.strip() for p in text.split(",")):
        if not pair:
            continue
        name, sep, arn = pair.partition("=")
        if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name.strip()):
            raise ValueError(f"AWS_SECRET_REFS: expected NAME=ARN, got {pair[:40]!r}")
        if not re.fullmatch(ARN, arn.strip()):
            raise ValueError(f"AWS_SECRET_REFS: {name} must be a Secrets Manager or SSM ARN")
        refs[name.strip()] = arn.strip()
    return refs


def has_reference(settings: Settings, name: str) -> bool:
    """A required secret the platform injects by reference need not be known here."""
    if settings.get("DEPLOY_TARGET") not in AWS_TARGETS:
        return False
    if settings.get("AWS_SECRET_FROM"):
        return True
    try:
        return name in parse_refs(settings.get("AWS_SECRET_REFS") or "")
    except ValueError:
        return False


def secret_refs(settings: Settings, shipped: dict[str, str]) -> list[SecretRef]:
    """A reference for every secret the app gets: each secret variable that is set,
    required in this environment, or named in AWS_SECRET_REFS. A secret with no
    reference is a ConfigError naming it and where its value was set."""
    explicit = parse_refs(settings.get("AWS_SECRET_REFS") or "")
    template = settings.get("AWS_SECRET_FROM")
    wanted = {k for k in shipped if settings.is_secret(k)} | set(explicit)
    wanted |= {
        name
        for name, var in settings.schema.variables.items()
        if var.secret and var.ship and settings.environment in var.required_in
    }
    refs, missing = [], []
    for name in sorted(wanted):
        if name in explicit:
            source = f"AWS_SECRET_REFS (set by {settings.sources['AWS_SECRET_REFS']})"
            refs.append(SecretRef(name, explicit[name], source))
        elif template:
            source = f"AWS_SECRET_FROM (set by {settings.sources['AWS_SECRET_FROM']})"
            refs.append(SecretRef(name, template.replace("{name}", name), source))
        else:
            where = settings.sources.get(name)
            missing.append(f"{name}" + (f" (set by {where})" if where else " (required)"))
    if missing:
        raise ConfigError(
            "secrets reach the app by reference only, and these have none: "
            + ", ".join(missing)
            + ". Name each in AWS_SECRET_REFS=NAME=arn:…, or set AWS_SECRET_FROM=arn:…{name}"
        )
    return refs


def app_variables(settings: Settings, version: str) -> tuple[dict[str, str], list[SecretRef]]:
    """What an AWS platform hands the app: the non-secret variables as values (plus
    APP_VERSION, which says which release a revision or service runs) and every secret
    as a reference. No secret value can be in the first."""
    shipped = settings.app_environment()
    refs = secret_refs(settings, shipped)
    by_ref = {r.name for r in refs}
    plain = {k: v for k, v in shipped.items() if k not in by_ref and not settings.is_secret(k)}
    plain["APP_VERSION"] = version
    return plain, refs


def check_exist(clients, settings: Settings, refs: list[SecretRef]) -> None:
    """Each referenced secret exists (its metadata is read; never its value): a task
    that cannot pull a secret never starts, so this is refused before anything changes."""
    from botocore.exceptions import ClientError

    from shipwright.aws.errors import aws_errors, code_of

    gone = []
    parameters = [r for r in refs if r.service == "ssm"]
    with aws_errors(settings, "looking up the SSM parameters the secrets reference"):
        found = _parameters(clients, parameters) if parameters else set()
    for ref in refs:
        if ref.service == "ssm":
            exists = ref.resource in found
        else:
            with aws_errors(settings, f"looking up the secret reference of {ref.name}"):
                try:
                    clients("secretsmanager").describe_secret(SecretId=ref.resource)
                    exists = True
                except ClientError as exc:
                    if code_of(exc) != "ResourceNotFoundException":
                        raise
                    exists = False
        if not exists:
            gone.append(f"{ref.name} -> {ref.value_from} (from {ref.source})")
    if gone:
        raise ConfigError("these secret references do not exist: " + "; ".join(gone))


def _parameters(clients, refs: list[SecretRef]) -> set[str]:
    """Which of the referenced parameter names exist (metadata only), 50 names a call."""
    names = sorted({r.resource for r in refs})
    found: set[str] = set()
    pages = clients("ssm").get_paginator("describe_parameters")
    for start in range(0, len(names), 50):
        chunk = names[start : start + 50]
        flt = [{"Key": "Name", "Option": "Equals", "Values": chunk}]
        for page in pages.paginate(ParameterFilters=flt):
            found |= {p["Name"] for p in page.get("Parameters", [])}
    return found
