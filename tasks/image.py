"""image.*: build, push and name the app's container image (docker SDK, loaded lazily)."""

from invoke import task

from shipwright.cli import reports_errors, runner_for, settings_for

HELP = {
    "env": "environment whose settings apply (IMAGE_REPOSITORY, BASE_IMAGE, DOCKER_*)",
    "target": "Dockerfile stage: production (default) or development",
    "set": "override KEY=VALUE (repeatable), e.g. --set BASE_IMAGE=node:18-alpine",
    "dry-run": "print the plan (build, tag, login, push calls) and change nothing",
    "version": "push this recorded version instead of the current commit's",
    "pull-cache": "pull the branch's previous image for the build cache (--no-pull-cache: "
    "use only what the engine has)",
    "json": "machine-readable output (the record of each build is also in .shipwright/images/)",
}


def _help(*names: str) -> dict[str, str]:
    return {name: HELP[name] for name in names}


@task(help=_help("env", "target", "set", "pull-cache", "dry-run"), iterable=["set"])
@reports_errors
def build(c, env="development", target="production", set=None, pull_cache=True, dry_run=False):
    """Build the image from app/Dockerfile, tagged <branch>-<sha> (and latest on main)."""
    from shipwright.image import build as builder
    from shipwright.image.report import show_record

    runner = runner_for(c, dry_run)
    settings = settings_for(env, set)
    record = builder.build_image(settings, runner, target=target, pull_cache=pull_cache)
    if not runner.dry_run:
        show_record(record, title="Built")


@task(help=_help("env", "target", "version", "set", "dry-run"), iterable=["set"])
@reports_errors
def push(c, env="development", target="production", version=None, set=None, dry_run=False):
    """Push the image's tags (login from DOCKER_USERNAME/PASSWORD) and record the digest."""
    from shipwright.image import push as pusher
    from shipwright.image.report import show_record

    runner = runner_for(c, dry_run)
    record = pusher.push_image(settings_for(env, set), runner, version=version, target=target)
    if not runner.dry_run:
        show_record(record, title="Pushed")


@task(help=_help("env", "target", "set", "json"), iterable=["set"])
@reports_errors
def tags(c, env="development", target="production", set=None, json=False):
    """Show the tags this commit's image gets (nothing is built)."""
    from shipwright.image.report import show_tags
    from shipwright.image.tags import git_info

    settings = settings_for(env, set)
    show_tags(git_info(runner_for(c)), settings["IMAGE_REPOSITORY"], target, as_json=json)
