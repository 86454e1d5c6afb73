"""image.*: build, push and name the app's container image (docker SDK, loaded lazily)."""

from invoke import task

from shipwright.cli import flag_help, reports_errors, runner_for, settings_for

HELP = {
    "target": "Dockerfile stage: production (default) or development",
    "dry-run": "print the plan (build, tag, login, push calls) and change nothing",
    "version": "push this recorded version instead of the current commit's",
    "pull-cache": "pull the branch's previous image for the build cache "
    "(--no-pull-cache: use only what the engine has)",
}


@task(help=flag_help("env", "target", "set", "pull-cache", "dry-run", own=HELP), iterable=["set"])
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


@task(help=flag_help("env", "target", "version", "set", "dry-run", own=HELP), iterable=["set"])
@reports_errors
def push(c, env="development", target="production", version=None, set=None, dry_run=False):
    """Push the image's tags (login from DOCKER_USERNAME/PASSWORD) and record the digest."""
    from shipwright.image import push as pusher
    from shipwright.image.report import show_record

    runner = runner_for(c, dry_run)
    record = pusher.push_image(settings_for(env, set), runner, version=version, target=target)
    if not runner.dry_run:
        show_record(record, title="Pushed")


@task(help=flag_help("env", "target", "set", "json", own=HELP), iterable=["set"])
@reports_errors
def tags(c, env="development", target="production", set=None, json=False):
    """Show the tags this commit's image gets (nothing is built)."""
    from shipwright.image.report import show_tags
    from shipwright.image.tags import git_info

    settings = settings_for(env, set)
    show_tags(git_info(runner_for(c)), settings["IMAGE_REPOSITORY"], target, as_json=json)
