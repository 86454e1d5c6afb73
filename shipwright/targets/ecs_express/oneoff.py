"""The task definition a one-off command runs in: the serving revision itself when the
release is the one that serves, else a copy of it with the release's image and
variables, registered in our own family (APP_NAME-<environment>-run) -- migrations run
before the new release serves, and Express owns the service's own family.

Why a copy of the serving revision: it carries what Express set up (roles, awslogs,
network mode, cpu/memory), so the command runs as the app would.
"""

from __future__ import annotations

import copy
from typing import Any

from shipwright.aws.secrets import app_variables
from shipwright.domain import Release
from shipwright.image.reference import ImageRef
from shipwright.settings import Settings
from shipwright.targets.ecs.revisions import Revisions
from shipwright.targets.ecs.taskdef import LABEL, READ_ONLY
from shipwright.targets.ecs_express.service import Revision


def task_definition_for(
    settings: Settings, revisions: Revisions, serving: Revision, release: Release
) -> str:
    """The ARN to run ``release`` in (registering the copy only when it is new)."""
    image = ImageRef.parse(release.image).by_digest()
    if serving.image == image:
        return serving.arn
    found = revisions.of_release(release)
    if found:
        return found
    return revisions.register(copied(settings, serving, release, revisions.config.family), release)


def copied(settings: Settings, serving: Revision, release: Release, family: str) -> dict[str, Any]:
    data = {k: v for k, v in copy.deepcopy(serving.described).items() if k not in READ_ONLY}
    data["family"] = family
    plain, refs = app_variables(settings, release.version)
    for container in data.get("containerDefinitions", []):
        if container.get("name") != serving.container:
            continue
        container["image"] = ImageRef.parse(release.image).by_digest()
        container["environment"] = [{"name": k, "value": plain[k]} for k in sorted(plain)]
        container["secrets"] = [{"name": r.name, "valueFrom": r.value_from} for r in refs]
        container["dockerLabels"] = {
            **(container.get("dockerLabels") or {}),
            LABEL + "version": release.version,
            LABEL + "environment": settings.environment,
        }
    return data
