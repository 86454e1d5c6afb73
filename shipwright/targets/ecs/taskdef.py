"""The task definition as code: the repository's template rendered for one release and
environment, compared with what serves, and read back into a Release.

The app container gets the release's image by digest, the app's non-secret variables as
``environment`` and every secret as a ``secrets`` reference (``valueFrom``); no value of
a secret can reach the result. Placeholders ``${NAME}`` in the template's strings take
non-secret settings (plus ENVIRONMENT); a string that renders empty drops its key, so
optional roles need no second template.
"""

from __future__ import annotations

import copy
import difflib
import json
import re
from collections.abc import Callable
from typing import Any

from shipwright.aws.secrets import app_variables
from shipwright.domain import Release
from shipwright.errors import ConfigError
from shipwright.image.reference import ImageRef
from shipwright.redact import redact
from shipwright.settings import Settings
from shipwright.targets.ecs.config import EcsConfig

LABEL = "io.shipwright."
LABELS = ("version", "environment", "git-sha")
PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
#: What DescribeTaskDefinition adds that a registration does not take.
READ_ONLY = (
    "taskDefinitionArn",
    "revision",
    "status",
    "requiresAttributes",
    "compatibilities",
    "registeredAt",
    "registeredBy",
    "deregisteredAt",
)
#: Values AWS fills in when a registration leaves them out.
AWS_DEFAULTS = {"cpu": 0, "versionConsistency": "enabled", "essential": True}


def load_template(config: EcsConfig, settings: Settings) -> dict[str, Any]:
    source = settings.sources["ECS_TASK_DEFINITION"]
    where = f"ECS_TASK_DEFINITION={config.template} (set by {source})"
    try:
        data = json.loads(config.template.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"the task definition template is missing: {where}") from None
    except ValueError as exc:
        raise ConfigError(f"the task definition template is not JSON ({exc}): {where}") from None
    if not isinstance(data, dict) or not isinstance(data.get("containerDefinitions"), list):
        raise ConfigError(f"the task definition template has no containerDefinitions: {where}")
    return data


def render(settings: Settings, config: EcsConfig, release: Release) -> dict[str, Any]:
    """The registration for ``release``: RegisterTaskDefinition's arguments."""
    image = ImageRef.parse(release.image).by_digest()
    data = _fill(
        load_template(config, settings), _placeholders(settings, config), settings.is_secret
    )
    app = _container(data, config)
    variables, refs = app_variables(settings, release.version)
    app["image"] = image
    app["environment"] = _merged(app.get("environment"), variables, "value")
    app["secrets"] = _merged(app.get("secrets"), {r.name: r.value_from for r in refs}, "valueFrom")
    labels = dict(app.get("dockerLabels") or {})
    labels.update(
        {
            LABEL + "version": release.version,
            LABEL + "environment": settings.environment,
            LABEL + "git-sha": release.git_sha,
        }
    )
    app["dockerLabels"] = {k: v for k, v in labels.items() if v}
    return data


def _placeholders(settings: Settings, config: EcsConfig) -> dict[str, str]:
    values = {k: v for k, v in settings.values.items() if not settings.is_secret(k)}
    values.update(
        ENVIRONMENT=settings.environment,
        ECS_FAMILY=config.family,
        ECS_LOG_GROUP=config.log_group,
        ECS_CONTAINER=config.container,
    )
    return values


def _fill(node: Any, values: dict[str, str], is_secret: Callable[[str], bool]) -> Any:
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            filled = _fill(value, values, is_secret)
            if filled != "":
                out[key] = filled
        return out
    if isinstance(node, list):
        return [_fill(v, values, is_secret) for v in node]
    if isinstance(node, str):

        def one(match: re.Match[str]) -> str:
            name = match.group(1)
            if is_secret(name):
                raise ConfigError(
                    f"the task definition template refers to the secret ${{{name}}}: secrets "
                    "reach the container as references only (AWS_SECRET_REFS / AWS_SECRET_FROM)"
                )
            return values.get(name, "")

        return PLACEHOLDER.sub(one, node)
    return node


def _container(data: dict[str, Any], config: EcsConfig) -> dict[str, Any]:
    for container in data["containerDefinitions"]:
        if container.get("name") == config.container:
            return container
    names = ", ".join(str(c.get("name")) for c in data["containerDefinitions"])
    raise ConfigError(
        f"the task definition template has no container {config.container!r} "
        f"(ECS_CONTAINER; it has: {names})"
    )


def _merged(listed: Any, ours: dict[str, str], field: str) -> list[dict[str, str]]:
    """The template's name/value pairs, then ours over them, sorted by name."""
    pairs = {item["name"]: item[field] for item in listed or [] if "name" in item}
    pairs.update(ours)
    return [{"name": k, field: pairs[k]} for k in sorted(pairs)]


def pinned(image: str) -> str:
    """``repo@sha256:…`` (a tag beside the digest dropped), as task definitions hold it."""
    ref = ImageRef.parse(image)
    return ref.by_digest() if ref.pinned else image


# -- reading back ------------------------------------------------------------------------
def release_of(described: dict[str, Any], config: EcsConfig, environment: str) -> Release | None:
    """The Release a registered task definition carries (None: not one of ours)."""
    app = next(
        (c for c in described.get("containerDefinitions", []) if c.get("name") == config.container),
        None,
    )
    if app is None:
        return None
    labels = app.get("dockerLabels") or {}
    image = app.get("image", "")
    ref = ImageRef.parse(image) if image else None
    version = labels.get(LABEL + "version") or (ref.tag if ref else "") or image
    return Release(
        labels.get(LABEL + "environment", environment),
        version,
        image,
        git_sha=labels.get(LABEL + "git-sha", ""),
        who="",
        when=str(described.get("registeredAt", "")),
    )


def comparable(described: dict[str, Any], rendered: dict[str, Any] | None = None) -> dict:
    """A task definition without what AWS adds, in a stable order, for comparing."""
    data = {k: v for k, v in copy.deepcopy(described).items() if k not in READ_ONLY}
    shape = rendered or {}
    for key in ("tags",):
        data.pop(key, None)
    containers = data.get("containerDefinitions", [])
    wanted = {c.get("name"): c for c in shape.get("containerDefinitions", [])}
    for container in containers:
        mine = wanted.get(container.get("name"), {})
        for key, default in AWS_DEFAULTS.items():
            if key not in mine and container.get(key) == default:
                container.pop(key)
        for key in ("environment", "secrets"):
            if key in container:
                container[key] = sorted(container[key], key=lambda item: item.get("name", ""))
    return _pruned(data)


def _pruned(node: Any) -> Any:
    if isinstance(node, dict):
        kept = {k: _pruned(v) for k, v in node.items()}
        return {k: v for k, v in kept.items() if v not in (None, [], {}, "")}
    if isinstance(node, list):
        return [_pruned(v) for v in node]
    return node


def same(described: dict[str, Any], rendered: dict[str, Any]) -> bool:
    return comparable(described, rendered) == comparable(rendered, rendered)


def diff(serving: dict[str, Any] | None, rendered: dict[str, Any], label: str) -> list[str]:
    """Unified diff lines (redacted) from ``serving`` to ``rendered``; [] when the same."""
    before = _lines(comparable(serving, rendered)) if serving else []
    after = _lines(comparable(rendered, rendered))
    lines = difflib.unified_diff(before, after, f"serving {label}", "rendered", lineterm="")
    return [redact(line) for line in lines]


def _lines(data: dict[str, Any]) -> list[str]:
    return json.dumps(data, indent=2, sort_keys=True).splitlines()
