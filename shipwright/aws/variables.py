"""Settings every AWS target shares (group ``aws``): where the lock and ledger live, how
the app's secrets are referenced. Target ``variables`` modules add these to their own;
AWS_REGION and AWS_ENDPOINT_URL are core settings (shipwright.settings.schema)."""

from __future__ import annotations

from shipwright.settings.var import Var

#: An ARN of Secrets Manager or SSM Parameter Store, as ECS and App Runner take it.
ARN = r"arn:aws[a-z-]*:(secretsmanager|ssm):[a-z0-9-]*:\d{12}:\S+"


def _template(value: str) -> str | None:
    if "{name}" not in value:
        return "AWS_SECRET_FROM must contain {name} (the variable's name goes there)"
    import re

    if not re.fullmatch(ARN, value.replace("{name}", "X")):
        return f"AWS_SECRET_FROM must be a Secrets Manager or SSM ARN template, not {value!r}"
    return None


def _refs(value: str) -> str | None:
    from shipwright.aws.secrets import parse_refs

    try:
        parse_refs(value)
    except ValueError as exc:
        return str(exc)
    return None


VARIABLES: tuple[Var, ...] = (
    Var("AWS_PROFILE", "aws", "Named profile of the standard AWS credential chain"),
    Var(
        "AWS_STATE_BUCKET",
        "aws",
        "S3 bucket holding the deploy lock and the ledger of the AWS targets",
    ),
    Var(
        "AWS_STATE_PREFIX",
        "aws",
        "Key prefix in AWS_STATE_BUCKET (then <app>/<environment>/)",
        default="shipwright",
    ),
    Var(
        "AWS_SECRET_FROM",
        "aws",
        "ARN template for the app's secrets, {name} = the variable, e.g. "
        "arn:aws:ssm:us-east-1:123456789012:parameter/learinal/staging/{name}",
        check=_template,
    ),
    Var(
        "AWS_SECRET_REFS",
        "aws",
        "Per-variable secret ARNs, NAME=ARN,NAME=ARN (over AWS_SECRET_FROM)",
        check=_refs,
    ),
)
