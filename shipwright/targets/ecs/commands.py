"""What ``invoke ecs.render`` and ``invoke ecs.diff`` do, without Invoke: the task
definition a deploy would register, and how it differs from the revision that serves.

The release is chosen the way ``invoke deploy`` chooses it (``--image``, ``--version``,
else the branch's newest push). Rendering needs no AWS access; the diff reads the
serving revision (DescribeServices, DescribeTaskDefinition) and changes nothing.
"""

from __future__ import annotations

from typing import Any

from shipwright.errors import ExitCode, ShipwrightError
from shipwright.flow.release import release_for
from shipwright.output import emit_json, say
from shipwright.runner import Runner
from shipwright.settings import Settings
from shipwright.targets.ecs import service as svc
from shipwright.targets.ecs import taskdef
from shipwright.targets.ecs.config import EcsConfig


def render(
    settings: Settings, runner: Runner, *, version: str | None = None, image: str | None = None
) -> dict[str, Any]:
    release = release_for(settings, runner, version, image)
    rendered = taskdef.render(settings, EcsConfig.from_settings(settings), release)
    emit_json(rendered)
    return rendered


def diff(
    settings: Settings,
    runner: Runner,
    *,
    version: str | None = None,
    image: str | None = None,
    target=None,
) -> list[str]:
    """The diff lines; raises with exit 1 when there are any (0: no change)."""
    from shipwright.targets.ecs.target import EcsTarget

    release = release_for(settings, runner, version, image)
    ecs = target or EcsTarget(settings, runner)
    try:
        rendered = ecs.render(release)
        serving = ecs.serving_definition()
    finally:
        if target is None:
            ecs.close()
    label = svc.revision_of(serving.get("taskDefinitionArn")) if serving else "(nothing)"
    lines = taskdef.diff(serving, rendered, label)
    if not lines:
        say(f"✔ {release.version}: the task definition is the one {label} serves")
        return lines
    for line in lines:
        say(line)
    raise ShipwrightError(
        f"{release.version}: the task definition differs from {label} "
        f"({sum(1 for x in lines if x[:1] in '+-' and x[:3] not in ('+++', '---'))} line(s))",
        ExitCode.FAILED,
    )
