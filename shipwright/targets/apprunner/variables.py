"""The App Runner target's settings (group ``apprunner``); the AWS settings it shares
with the other AWS targets are declared once, in shipwright.aws.variables."""

from __future__ import annotations

from shipwright.settings.var import Var, number

VARIABLES: tuple[Var, ...] = (
    Var(
        "APPRUNNER_SERVICE",
        "apprunner",
        "App Runner service to deploy: its ARN, or its name (default: APP_NAME-<environment>)",
    ),
    Var(
        "APPRUNNER_CONFIG",
        "apprunner",
        "The App Runner configuration file of source-code services, in the repository",
        default="apprunner.yaml",
    ),
    Var(
        "APPRUNNER_DEPLOY_TIMEOUT",
        "apprunner",
        "Seconds an App Runner operation may take before the deploy gives up waiting",
        default="1800",
        check=number,
    ),
    Var(
        "APPRUNNER_POLL_SECONDS",
        "apprunner",
        "Seconds between two looks at an App Runner operation",
        default="10",
        check=number,
    ),
)
