"""What ``invoke k8s.render | k8s.validate | k8s.diff`` do, without Invoke.

They work for any environment with an overlay, whatever its DEPLOY_TARGET (CI validates
the manifests of every environment). The release is chosen as ``invoke deploy`` chooses
it (``--image REF``, else ``--version``, else the branch's newest push); validation
needs no pushed image and binds a placeholder digest when none is named.
"""

from __future__ import annotations

import yaml

from shipwright.domain import Release
from shipwright.errors import ConfigError, ExitCode, ShipwrightError
from shipwright.flow.release import release_for
from shipwright.output import say, status
from shipwright.runner import Runner
from shipwright.settings import Settings
from shipwright.targets.k8s import diff as differ
from shipwright.targets.k8s import validate as checker
from shipwright.targets.k8s.bind import colour
from shipwright.targets.k8s.target import K8sTarget

PLACEHOLDER = "sha256:" + "0" * 64


def _release(settings: Settings, runner: Runner, version, image, placeholder=False) -> Release:
    if placeholder and not (version or image):
        return Release(
            settings.environment, "validate", f"{settings['IMAGE_REPOSITORY']}@{PLACEHOLDER}"
        )
    return release_for(settings, runner, version, image)


def render(settings: Settings, runner: Runner, *, version=None, image=None) -> str:
    """The objects a deploy would apply, as YAML, Secret values masked."""
    target = K8sTarget(settings, runner)
    bound = target.bound(_release(settings, runner, version, image))
    if target.cfg.bluegreen:
        bound = colour(bound, "blue", "blue")
    for note in bound.notes:
        say(f"# – {note}")
    return yaml.safe_dump_all(bound.masked(), sort_keys=False)


def validate(settings: Settings, runner: Runner, *, version=None, image=None) -> None:
    """Every finding printed; a ConfigError (exit 2) when there is any."""
    k8s_version = checker.supported_version(settings)
    target = K8sTarget(settings, runner)
    release = _release(settings, runner, version, image, placeholder=True)
    bound = target.bound(release, strict_refs=False)
    if target.cfg.bluegreen:
        bound = colour(bound, "blue", "blue")
    findings = checker.validate(bound, target.manifests, k8s_version, target.cfg.container)
    for finding in findings:
        status(False, str(finding))
    count = len(bound.objects())
    if findings:
        raise ConfigError(
            f"{len(findings)} problem(s) in the manifests of {settings.environment!r} "
            f"({target.cfg.overlay_shown}) against Kubernetes {k8s_version}"
        )
    status(
        True, f"{count} objects of {target.cfg.overlay_shown} valid for Kubernetes {k8s_version}"
    )


def diff(settings: Settings, runner: Runner, *, version=None, image=None) -> int:
    """Print the differences; 0 none, 1 some, 2 (raised) an error -- as kubectl diff."""
    target = K8sTarget(settings, runner)
    try:
        bound = target.bound(_release(settings, runner, version, image))
        if target.cfg.bluegreen:
            active = target.strategy.active(target.shape) or "blue"
            bound = colour(bound, active, active)
        changes = differ.diff(target.kube, bound)
    except ShipwrightError as exc:
        raise ShipwrightError(str(exc), ExitCode.BAD_INPUT) from None
    finally:
        target.close()
    for change in changes:
        say(change.rstrip("\n"))
    if not changes:
        status(True, f"{target.kube.namespace}: no differences")
    return 1 if changes else 0
