"""apprunner.*: the repository's apprunner.yaml, and the move of an environment's App
Runner service to ECS Express Mode. Deploys, rollbacks, status and logs on App Runner
are the top-level tasks with DEPLOY_TARGET=apprunner."""

from invoke import task

from shipwright.cli import flag_help, reports_errors, require_env, runner_for, settings_for

HELP = {
    "write": "write the Express settings into envs/.env.ENV (and .local) for review",
    "apply": "also create the Express service beside App Runner's, deploy, verify, smoke-test",
    "version": "deploy this recorded version to Express (default: what App Runner serves)",
    "image": "deploy this image reference (repo@sha256:…) to Express",
    "yes": "approve without the prompt where the environment needs approval (recorded)",
}


@task(help=flag_help("env", "set"), iterable=["set"])
@reports_errors
def validate(c, env="production", set=None):
    """Validate apprunner.yaml (version, runtime, commands, port, env names, no secrets)."""
    from shipwright.settings import load_settings, parse_assignments
    from shipwright.targets.apprunner import commands

    # the file is checked against ENV's secrets; ENV need not be complete here
    overrides = parse_assignments(set or ())
    commands.validate(load_settings(env, overrides=overrides, validate=False))


@task(
    auto_shortflags=False,
    help=flag_help("env", "write", "apply", "version", "image", "yes", "set", own=HELP),
    iterable=["set"],
)
@reports_errors
def migrate(c, env=None, write=False, apply=False, version=None, image=None, yes=False, set=None):
    """Plan the move of ENV's App Runner service to ECS Express Mode (changes nothing
    without --write / --apply; App Runner's service is never changed)."""
    from shipwright.targets.apprunner import commands

    commands.migrate(
        settings_for(require_env(env), set),
        runner_for(c),
        write=write,
        apply=apply,
        version=version,
        image=image,
        yes=yes,
    )
