"""The UpdateService arguments that make an image-based service run a release: the
image by digest, the app's plain variables and its secrets as RuntimeEnvironmentSecrets
references -- everything else (port, start command, access role, auto deployments) as
the service has it, because UpdateService replaces the whole source configuration.

Why the registry check: App Runner pulls from Amazon ECR and ECR Public only; another
registry's image is refused here (exit 2) rather than by App Runner after the update.
"""

from __future__ import annotations

import re
from typing import Any

from shipwright.aws.secrets import app_variables
from shipwright.domain import Release
from shipwright.errors import ConfigError
from shipwright.image.reference import ImageRef
from shipwright.settings import Settings
from shipwright.targets.apprunner import service as svc

ECR = re.compile(r"\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/\S+")
ECR_PUBLIC = re.compile(r"public\.ecr\.aws/\S+")


def repository_type(image: str, settings: Settings) -> str:
    """ECR or ECR_PUBLIC; a ConfigError naming where the image came from otherwise."""
    if ECR.fullmatch(image):
        return "ECR"
    if ECR_PUBLIC.fullmatch(image):
        return "ECR_PUBLIC"
    source = settings.sources.get("IMAGE_REPOSITORY", "default")
    raise ConfigError(
        f"App Runner pulls images from Amazon ECR or ECR Public only, not {image.split('@')[0]} "
        f"(IMAGE_REPOSITORY={settings.get('IMAGE_REPOSITORY')}, set by {source}, or --image): "
        "push the release to ECR (ACCOUNT.dkr.ecr.REGION.amazonaws.com/REPO) and deploy that"
    )


def update_arguments(
    settings: Settings, service: dict[str, Any], release: Release
) -> dict[str, Any]:
    image = ImageRef.parse(release.image).by_digest()
    kind = repository_type(image, settings)
    plain, refs = app_variables(settings, release.version)
    runtime = svc.runtime_of(service)
    configuration: dict[str, Any] = {
        "RuntimeEnvironmentVariables": plain,
        "RuntimeEnvironmentSecrets": {r.name: r.value_from for r in refs},
    }
    for key in ("Port", "StartCommand"):
        if runtime.get(key):
            configuration[key] = runtime[key]
    source: dict[str, Any] = {
        "ImageRepository": {
            "ImageIdentifier": image,
            "ImageConfiguration": configuration,
            "ImageRepositoryType": kind,
        }
    }
    old = service.get("SourceConfiguration") or {}
    for key in ("AutoDeploymentsEnabled", "AuthenticationConfiguration"):
        if key in old:
            source[key] = old[key]
    return {"ServiceArn": service["ServiceArn"], "SourceConfiguration": source}
