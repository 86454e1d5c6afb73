"""ecs.*: the ECS task definition as code (render, diff). Deploys, rollbacks, status,
logs and one-off tasks on ECS are the top-level tasks with DEPLOY_TARGET=ecs."""

from invoke import task

from shipwright.cli import flag_help, reports_errors, require_env, runner_for, settings_for

HELP = {
    "version": "render for this recorded version (default: the branch's newest push)",
    "image": "render for this image reference (repo[:tag]@sha256:…)",
}


@task(help=flag_help("env", "version", "image", "set", own=HELP), iterable=["set"])
@reports_errors
def render(c, env=None, version=None, image=None, set=None):
    """Print the task definition a deploy would register (secrets as references)."""
    from shipwright.targets.ecs import commands

    commands.render(
        settings_for(require_env(env), set), runner_for(c), version=version, image=image
    )


@task(help=flag_help("env", "version", "image", "set", own=HELP), iterable=["set"])
@reports_errors
def diff(c, env=None, version=None, image=None, set=None):
    """Diff the rendered task definition against the serving revision (exit 0 same, 1 differs)."""
    from shipwright.targets.ecs import commands

    commands.diff(settings_for(require_env(env), set), runner_for(c), version=version, image=image)
