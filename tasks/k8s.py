"""k8s.*: the Kubernetes manifests of an environment (deploy/k8s/overlays/<env>).

``invoke k8s.render`` prints what a deploy would apply (Secret values masked),
``invoke k8s.validate`` checks it offline against the environment's Kubernetes version,
``invoke k8s.diff`` shows the change against the cluster (exit 0/1/2 as kubectl diff).
Releases go through the one flow: ``invoke deploy --env X`` with DEPLOY_TARGET=k8s.
"""

from invoke import task
from invoke.exceptions import Exit

from shipwright.cli import flag_help, reports_errors, require_env, runner_for, settings_for

HELP = {
    "version": "bind this recorded version (default: as invoke deploy chooses it)",
    "image": "bind this image reference (repo[:tag]@sha256:…)",
}
FLAGS = ("env", "version", "image", "set")


@task(help=flag_help(*FLAGS, own=HELP), iterable=["set"])
@reports_errors
def render(c, env=None, version=None, image=None, set=None):
    """Print the manifests a deploy would apply (kubectl kustomize + the release)."""
    from shipwright.output import say
    from shipwright.targets.k8s import commands

    say(
        commands.render(
            settings_for(require_env(env), set), runner_for(c), version=version, image=image
        )
    )


@task(help=flag_help(*FLAGS, own=HELP), iterable=["set"])
@reports_errors
def validate(c, env=None, version=None, image=None, set=None):
    """Validate the manifests offline against K8S_VERSION (strict schemas)."""
    from shipwright.settings import load_settings, parse_assignments
    from shipwright.targets.k8s import commands

    # The shape is validated, not the secrets: CI validates every environment without them.
    settings = load_settings(
        require_env(env), overrides=parse_assignments(set or ()), validate=False
    )
    commands.validate(settings, runner_for(c), version=version, image=image)


@task(help=flag_help(*FLAGS, own=HELP), iterable=["set"])
@reports_errors
def diff(c, env=None, version=None, image=None, set=None):
    """Show what a deploy would change in the cluster (exit 1 when anything would)."""
    from shipwright.targets.k8s import commands

    code = commands.diff(
        settings_for(require_env(env), set), runner_for(c), version=version, image=image
    )
    if code:
        raise Exit(code=code)
