"""Reading an App Runner service: which one (an ARN, or a name looked up once), how it
is described, what it runs (image or source), where it serves, and its log groups.

Why an explicit lookup by name: every App Runner call takes the service ARN; a name
that matches no service is a ConfigError naming APPRUNNER_SERVICE and the layer that
set it, before anything changes.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from shipwright.aws.clients import AwsClients
from shipwright.aws.errors import aws_errors
from shipwright.domain import Release
from shipwright.errors import ConfigError
from shipwright.image.reference import ImageRef
from shipwright.targets.apprunner.config import AppRunnerConfig

NOT_FOUND = {"ResourceNotFoundException": "APPRUNNER_SERVICE"}


def apprunner_errors(clients: AwsClients, doing: str):
    return aws_errors(clients.settings, doing, not_found=NOT_FOUND)


def resolve_arn(clients: AwsClients, config: AppRunnerConfig) -> str:
    """The service's ARN: APPRUNNER_SERVICE itself, or the service of that name."""
    if config.service.startswith("arn:"):
        return config.service
    with apprunner_errors(clients, "listing the App Runner services"):
        for summary in pages(clients("apprunner").list_services, "ServiceSummaryList"):
            if summary.get("ServiceName") == config.service:
                return summary["ServiceArn"]
    source = clients.settings.sources.get("APPRUNNER_SERVICE", "default: APP_NAME-<environment>")
    raise ConfigError(
        f"APPRUNNER_SERVICE={config.service} (set by {source}) is not an App Runner service "
        f"in {clients.region} (App Runner creates no new services since 2026-04-30: for a new "
        "one, use DEPLOY_TARGET=ecs-express)"
    )


def pages(call: Any, key: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
    """Every item of a NextToken-paged App Runner list call (botocore has no
    paginators for App Runner)."""
    token = None
    while True:
        page = call(**kwargs, **({"NextToken": token} if token else {}))
        yield from page.get(key, [])
        token = page.get("NextToken")
        if not token:
            return


def describe(clients: AwsClients, arn: str) -> dict[str, Any]:
    with apprunner_errors(clients, "describing the App Runner service"):
        return clients("apprunner").describe_service(ServiceArn=arn)["Service"]


def is_source(service: dict[str, Any]) -> bool:
    """Built by App Runner from a code repository (not deployed from an image)."""
    return "CodeRepository" in (service.get("SourceConfiguration") or {})


def image_of(service: dict[str, Any]) -> str | None:
    repository = (service.get("SourceConfiguration") or {}).get("ImageRepository") or {}
    return repository.get("ImageIdentifier")


def runtime_of(service: dict[str, Any]) -> dict[str, Any]:
    """The runtime settings App Runner gives the app (port, start command, variables,
    secret references): the image's configuration, or the code configuration's values."""
    source = service.get("SourceConfiguration") or {}
    image = (source.get("ImageRepository") or {}).get("ImageConfiguration")
    code = (source.get("CodeRepository") or {}).get("CodeConfiguration") or {}
    return image or code.get("CodeConfigurationValues") or {}


def variables_of(service: dict[str, Any]) -> dict[str, str]:
    return dict(runtime_of(service).get("RuntimeEnvironmentVariables") or {})


def secrets_of(service: dict[str, Any]) -> dict[str, str]:
    """Name -> ARN of the secrets the service injects (references, never values)."""
    return dict(runtime_of(service).get("RuntimeEnvironmentSecrets") or {})


def release_of(service: dict[str, Any], environment: str) -> Release | None:
    """What the service runs, as a Release: its image (and APP_VERSION) or, for a
    source-code service, the branch it builds."""
    version = variables_of(service).get("APP_VERSION", "")
    if is_source(service):
        repo = service["SourceConfiguration"]["CodeRepository"]
        branch = repo["SourceCodeVersion"]["Value"]
        return Release(environment, version or f"branch:{branch}", "", who="", when="")
    image = image_of(service)
    if not image:
        return None
    ref = ImageRef.parse(image)
    return Release(environment, version or ref.tag or image, image, who="", when="")


def url_of(service: dict[str, Any]) -> str | None:
    """The service's default domain as a URL (App Runner serves HTTPS only)."""
    host = service.get("ServiceUrl")
    return f"https://{host}" if host else None


def log_groups(service: dict[str, Any]) -> list[str]:
    """App Runner's own groups: the app's output, then the service's (deploys, health)."""
    base = f"/aws/apprunner/{service['ServiceName']}/{service['ServiceId']}"
    return [f"{base}/application", f"{base}/service"]
