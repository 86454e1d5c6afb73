"""Deploy targets: one package each, one contract (:class:`shipwright.targets.base.Target`).

:func:`open_target` is the only place that knows which class serves which
``DEPLOY_TARGET``; the class is imported when it is needed, so ``invoke --list`` never
loads Fabric, the docker SDK or boto3.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from shipwright.errors import ConfigError

if TYPE_CHECKING:
    from shipwright.runner import Runner
    from shipwright.settings import Settings
    from shipwright.targets.base import Target

#: DEPLOY_TARGET -> "module:Class"; a new target adds one line here.
TARGETS: dict[str, str] = {
    "compose": "shipwright.targets.compose_hosts.target:ComposeHostsTarget",
    "local": "shipwright.targets.local_compose.target:LocalComposeTarget",
    "ecs": "shipwright.targets.ecs.target:EcsTarget",
    "apprunner": "shipwright.targets.apprunner.target:AppRunnerTarget",
    "ecs-express": "shipwright.targets.ecs_express.target:ExpressTarget",
    "k8s": "shipwright.targets.k8s.target:K8sTarget",
}


def open_target(settings: Settings, runner: Runner) -> Target:
    """The target ``settings`` deploy to; a ConfigError naming the setting and the file
    that set it when no target module serves that name."""
    kind = settings["DEPLOY_TARGET"]
    path = TARGETS.get(kind)
    if path is None:
        raise ConfigError(
            f"DEPLOY_TARGET={kind} (set by {settings.sources['DEPLOY_TARGET']}) has no target "
            f"module yet; available: {', '.join(TARGETS)}"
        )
    module, _, cls = path.partition(":")
    return getattr(importlib.import_module(module), cls)(settings, runner)
