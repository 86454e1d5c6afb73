"""The declared variables: what each is for, where it is required, whether it is secret.

Groups follow the specification (core, database, authentication, AWS, payment, AI
services, monitoring) plus the tool's own (ci, deploy, image, hosts, checks,
notifications). ``ship=True`` variables are handed to the application; the others are
used by the tool only.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

from shipwright.settings.var import PORT, URL, Var, int_between, number
from shipwright.settings.var import secret as _s

BUILTIN_ENVIRONMENTS = ("development", "test", "staging", "production")
DEPLOYED = frozenset({"staging", "production"})
ALL = frozenset(BUILTIN_ENVIRONMENTS)


VARIABLES: tuple[Var, ...] = (
    # --- core (specification: Core)
    Var(
        "NODE_ENV",
        "core",
        "Node runtime mode",
        ship=True,
        default="development",
        choices=("development", "test", "production"),
    ),
    Var("PORT", "core", "Port the app listens on", ship=True, default="3000", check=PORT),
    Var(
        "LOG_LEVEL",
        "core",
        "App log level",
        ship=True,
        default="info",
        choices=("debug", "info", "warn", "error"),
    ),
    # --- database
    _s(
        "MONGO_URI",
        "database",
        "MongoDB connection string",
        ship=True,
        required_in=DEPLOYED,
        pattern=r"mongodb(\+srv)?://\S+",
    ),
    _s(
        "REDIS_URI",
        "database",
        "Redis connection string",
        ship=True,
        required_in=DEPLOYED,
        pattern=r"rediss?://\S+",
    ),
    # --- authentication
    _s(
        "JWT_SECRET",
        "authentication",
        "Access-token signing key (>= 32 chars)",
        ship=True,
        required_in=DEPLOYED,
        pattern=r".{32,}",
    ),
    _s(
        "JWT_REFRESH_SECRET",
        "authentication",
        "Refresh-token signing key (>= 32 chars)",
        ship=True,
        required_in=DEPLOYED,
        pattern=r".{32,}",
    ),
    Var("GOOGLE_CLIENT_ID", "authentication", "Google OAuth client id", ship=True),
    _s("GOOGLE_CLIENT_SECRET", "authentication", "Google OAuth client secret", ship=True),
    Var("FACEBOOK_APP_ID", "authentication", "Facebook app id", ship=True),
    _s("FACEBOOK_APP_SECRET", "authentication", "Facebook app secret", ship=True),
    # --- AWS
    _s("AWS_ACCESS_KEY_ID", "aws", "AWS access key id"),
    _s("AWS_SECRET_ACCESS_KEY", "aws", "AWS secret access key"),
    Var("AWS_REGION", "aws", "AWS region", ship=True, default="us-east-1"),
    Var("AWS_S3_BUCKET", "aws", "Upload bucket", ship=True),
    Var("AWS_ENDPOINT_URL", "aws", "Alternative AWS endpoint (a local emulator)", pattern=URL),
    # --- payment
    Var(
        "PAYMENT_PROVIDER",
        "payment",
        "stripe, or mock in development",
        ship=True,
        default="stripe",
        choices=("stripe", "mock"),
    ),
    _s(
        "STRIPE_SECRET_KEY",
        "payment",
        "Stripe secret key (sk_test_ / sk_live_)",
        ship=True,
        required_in=DEPLOYED,
        pattern=r"sk_(test|live)_\S+",
    ),
    _s(
        "STRIPE_WEBHOOK_SECRET",
        "payment",
        "Stripe webhook signing secret",
        ship=True,
        required_in=DEPLOYED,
        pattern=r"whsec_\S+",
    ),
    _s("SEPAY_API_KEY", "payment", "SePay API key", ship=True),
    # --- AI services
    _s("OPENAI_API_KEY", "ai", "OpenAI API key", ship=True),
    _s("ANTHROPIC_API_KEY", "ai", "Anthropic API key", ship=True),
    # --- monitoring
    _s(
        "SENTRY_DSN",
        "monitoring",
        "Sentry DSN of the app",
        ship=True,
        required_in=frozenset({"production"}),
        pattern=URL,
    ),
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
)

#: Each target package declares its own settings in a ``variables`` module.
TARGET_VARIABLES = (
    "shipwright.targets.compose_hosts.variables",
    "shipwright.targets.k8s.variables",
)


def _declared() -> tuple[Var, ...]:
    found = list(VARIABLES)
    for module in TARGET_VARIABLES:
        found += importlib.import_module(module).VARIABLES
    return tuple(found)


SCHEMA: dict[str, Var] = {v.name: v for v in _declared()}


@dataclass(frozen=True)
class Rule:
    """A per-environment rule from the specification's Environment-Specific Configs."""

    environment: str
    key: str
    message: str
    ok: Callable[[str | None], bool]


RULES: tuple[Rule, ...] = (
    Rule(
        "development", "LOG_LEVEL", "LOG_LEVEL must be debug in development", lambda v: v == "debug"
    ),
    Rule(
        "development",
        "PAYMENT_PROVIDER",
        "PAYMENT_PROVIDER must be mock in development (mock payment providers)",
        lambda v: v == "mock",
    ),
    Rule("staging", "LOG_LEVEL", "LOG_LEVEL must be info in staging", lambda v: v == "info"),
    Rule(
        "staging",
        "STRIPE_SECRET_KEY",
        "STRIPE_SECRET_KEY must be a test key (sk_test_) in staging (Stripe test mode)",
        lambda v: v is None or v.startswith("sk_test_"),
    ),
    Rule("production", "LOG_LEVEL", "LOG_LEVEL must be warn in production", lambda v: v == "warn"),
    Rule(
        "production",
        "STRIPE_SECRET_KEY",
        "STRIPE_SECRET_KEY must be a live key (sk_live_) in production (Stripe live mode)",
        lambda v: v is None or v.startswith("sk_live_"),
    ),
    Rule(
        "production",
        "NODE_ENV",
        "NODE_ENV must be production in production",
        lambda v: v == "production",
    ),
    Rule(
        "staging", "NODE_ENV", "NODE_ENV must be production in staging", lambda v: v == "production"
    ),
)
