"""The declared variables: what each is for, where it is required, whether it is secret.

The tool's own settings (groups aws, ci, notifications, image, deploy, checks) are
declared here, each target's in its own ``variables`` module; the app's variables
(the specification's core, database, authentication, payment, AI and monitoring groups)
and their per-environment rules are the project's data in ``envs/schema.yml``
(:mod:`shipwright.settings.appschema`). ``ship=True`` variables are handed to the
application; the others are used by the tool only.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
from dataclasses import dataclass
from pathlib import Path

from shipwright import PROJECT_ROOT
from shipwright.settings import appschema
from shipwright.settings.appschema import Rule
from shipwright.settings.var import URL, Var, int_between, number
from shipwright.settings.var import secret as _s

BUILTIN_ENVIRONMENTS = ("development", "test", "staging", "production")
DEPLOYED = frozenset({"staging", "production"})
ALL = frozenset(BUILTIN_ENVIRONMENTS)


VARIABLES: tuple[Var, ...] = (
    # --- AWS (boto3 reads these; a local endpoint for tests)
    _s("AWS_ACCESS_KEY_ID", "aws", "AWS access key id"),
    _s("AWS_SECRET_ACCESS_KEY", "aws", "AWS secret access key"),
    Var("AWS_REGION", "aws", "AWS region", default="us-east-1"),
    Var("AWS_ENDPOINT_URL", "aws", "Alternative AWS endpoint (a local emulator)", pattern=URL),
    # --- CI secrets (specification: Required Secrets)
    Var("DOCKER_USERNAME", "ci", "Registry login user"),
    _s("DOCKER_PASSWORD", "ci", "Registry login token"),
    _s("SNYK_TOKEN", "ci", "Snyk token: enables the Snyk scan"),
    _s("CODECOV_TOKEN", "ci", "Codecov token: enables the coverage upload"),
    _s("SENTRY_AUTH_TOKEN", "ci", "Sentry API token: enables Sentry releases"),
    Var("SENTRY_ORG", "ci", "Sentry organisation slug"),
    Var("SENTRY_PROJECT", "ci", "Sentry project slug"),
    Var("SENTRY_URL", "ci", "Sentry base URL", default="https://sentry.io", pattern=URL),
    _s("SLACK_WEBHOOK_URL", "notifications", "Slack incoming webhook", pattern=URL),
    # --- the tool's own: image
    Var(
        "APP_NAME",
        "image",
        "Application / image name",
        default="learinal-backend",
        pattern=r"[a-z0-9][a-z0-9._-]*",
    ),
    Var(
        "IMAGE_REPOSITORY",
        "image",
        "Repository images are pushed to",
        default="docker.io/learinal/learinal-backend",
    ),
    Var("BASE_IMAGE", "image", "Dockerfile base image", default="node:18-alpine"),
    Var("REDIS_IMAGE", "image", "Redis image of the local Compose stack (redis:7-alpine)"),
    Var("MONGO_IMAGE", "image", "MongoDB image of the local Compose stack (mongo:7)"),
    Var(
        "SHIPWRIGHT_STATE_DIR",
        "deploy",
        "Where the tool keeps what it writes (CI and image records, env files, postmortems, "
        "the local ledger); relative to the project root (default .shipwright)",
    ),
    # --- the tool's own: deploy
    Var(
        "DEPLOY_APPROVAL",
        "deploy",
        "required: a deploy or rollback needs approval (typed name or --yes); unset: "
        "production only",
        choices=("required", "none"),
    ),
    Var(
        "DEPLOY_TARGET",
        "deploy",
        "Where releases go",
        default="compose",
        choices=("compose", "local", "ecs", "ecs-express", "apprunner", "k8s"),
    ),
    Var(
        "DEPLOY_READY_TIMEOUT",
        "deploy",
        "Seconds a new container may take to answer /readyz",
        default="60",
        check=number,
    ),
    Var(
        "DEPLOY_KEEP_IMAGES",
        "deploy",
        "Good releases whose images are never pruned",
        default="3",
        check=int_between(1, 100),
    ),
    Var("APP_URL", "checks", "Base URL that serves the app (smoke tests)", pattern=URL),
    Var(
        "HEALTH_PATHS",
        "checks",
        "Health endpoints checked after a deploy",
        default="/health,/livez,/readyz",
    ),
    Var("WATCH_SECONDS", "checks", "Post-deploy watch window", default="300", check=number),
    Var(
        "ERROR_RATE_MAX",
        "checks",
        "Error rate that passes (fraction)",
        default="0.01",
        check=number,
    ),
    Var(
        "ERROR_RATE_ROLLBACK",
        "checks",
        "Error rate that rolls back (fraction)",
        default="0.05",
        check=number,
    ),
    Var("P95_MAX_MS", "checks", "p95 latency that passes (ms)", default="500", check=number),
    Var(
        "STAGING_SOAK_HOURS",
        "checks",
        "Hours a version must serve on staging first",
        default="24",
        check=number,
    ),
    Var(
        "HEALTH_DEADLINE",
        "checks",
        "Seconds the health endpoints may take to answer after a move",
        default="60",
        check=number,
    ),
    Var("WATCH_INTERVAL", "checks", "Seconds between watch samples", default="10", check=number),
    Var(
        "WATCH_MIN_REQUESTS",
        "checks",
        "Requests a window needs before its rates can roll back",
        default="20",
        check=int_between(0, 10**9),
    ),
    Var(
        "SMOKE_FILE",
        "checks",
        "The smoke suite (relative to the project root)",
        default="smoke.yml",
    ),
    Var("METRICS_PATH", "checks", "Where the app serves Prometheus text", default="/metrics"),
    Var("PROMETHEUS_URL", "checks", "A Prometheus server to judge the watch by", pattern=URL),
    Var("PROMQL_REQUESTS", "checks", "PromQL: requests in $window (with PROMETHEUS_URL)"),
    Var("PROMQL_ERROR_RATE", "checks", "PromQL: 5xx share in $window (with PROMETHEUS_URL)"),
    Var("PROMQL_P95", "checks", "PromQL: p95 seconds in $window (with PROMETHEUS_URL)"),
    Var("SENTRY_REPOSITORY", "ci", "Repository name Sentry knows the commits by"),
    Var(
        "BACKEND_HOST",
        "image",
        "Address the local Compose stack's backend binds (default 127.0.0.1)",
    ),
    Var(
        "HEALTHCHECK_INTERVAL",
        "image",
        "Docker healthcheck interval of the local Compose stack's backend (default 2s)",
    ),
)

#: Each target package declares its own settings in a ``variables`` module.
TARGET_VARIABLES = (
    "shipwright.targets.compose_hosts.variables",
    "shipwright.targets.ecs.variables",
    "shipwright.targets.apprunner.variables",
    "shipwright.targets.ecs_express.variables",
    "shipwright.targets.k8s.variables",
    "shipwright.migrate.variables",
)


def _declared() -> tuple[Var, ...]:
    found = list(VARIABLES)
    for module in TARGET_VARIABLES:
        found += importlib.import_module(module).VARIABLES
    return tuple(found)


@dataclass(frozen=True)
class Schema:
    """Every declared variable (the tool's, its targets', the app's) and the app's rules."""

    variables: dict[str, Var]
    rules: tuple[Rule, ...]

    def get(self, key: str) -> Var | None:
        return self.variables.get(key)


@functools.cache
def schema_for(root: Path) -> Schema:
    """The tool's variables plus the app's from ``root``/envs/schema.yml."""
    app, rules = appschema.load(root / appschema.FILE)
    declared = {v.name: v for v in _declared()}
    for var in app:  # a tool setting the app needs too (AWS_REGION): the app may ship it
        if var.name in declared:
            declared[var.name] = dataclasses.replace(declared[var.name], ship=var.ship)
    return Schema({**{v.name: v for v in app}, **declared}, rules)


def secret_by_name(key: str) -> bool:
    """Undeclared keys: judged by name, erring on the side of hiding."""
    return any(w in key.upper() for w in ("SECRET", "TOKEN", "PASSWORD", "KEY", "DSN"))


#: This checkout's schema (tool + targets + its envs/schema.yml).
SCHEMA: dict[str, Var] = schema_for(PROJECT_ROOT).variables
