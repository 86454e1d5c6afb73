"""Validation: every problem at once, each naming the file and line (or the file that
should set the value)."""

from __future__ import annotations

from pathlib import Path

from shipwright.runner import Runner
from shipwright.settings.settings import Problem, Settings

NEVER_TRACKED = (".env.production",)


def _should_set(settings: Settings, key: str) -> str:
    env = settings.environment
    var = settings.schema.get(key)
    if var is not None and var.secret:
        return f"envs/.env.{env}.local (or the environment)"
    return f"envs/.env.{env}"


def _by_reference(settings: Settings, name: str) -> bool:
    """A secret an AWS platform injects from a reference (AWS_SECRET_REFS/_FROM) need
    not be known here: the tool never handles its value."""
    from shipwright.aws.secrets import has_reference

    var = settings.schema.variables[name]
    return var.secret and var.ship and has_reference(settings, name)


def validate(settings: Settings) -> list[Problem]:
    problems: list[Problem] = []
    env = settings.environment
    for name, var in settings.schema.variables.items():
        value = settings.get(name)
        if value is None:
            if env in var.required_in and not _by_reference(settings, name):
                problems.append(
                    Problem(_should_set(settings, name), f"{name} is required in {env} but not set")
                )
            continue
        reason = var.problem_with(value)
        if reason:
            prefix = "" if reason.startswith(name) else f"{name} "
            problems.append(Problem(str(settings.sources[name]), prefix + reason))
    for rule in settings.schema.rules:
        if rule.environment != env:
            continue
        value = settings.get(rule.key)
        if not rule.ok(value):
            source = settings.sources.get(rule.key)
            where = str(source) if value is not None and source else _should_set(settings, rule.key)
            problems.append(Problem(where, rule.message))
    return problems


def tracked_env_files(root: Path) -> list[str]:
    """Env files git tracks that must never be committed (.env.production, *.local)."""
    result = Runner(echo=False).local(
        ["git", "-C", str(root), "ls-files", "-z", "--", "envs"],
        quiet=True,
        check=False,
        changes=False,
    )
    if not result.ok:
        return []  # not a git checkout: nothing can be tracked
    listed = result.stdout
    names = [p for p in listed.split("\0") if p]
    return [p for p in names if Path(p).name in NEVER_TRACKED or p.endswith(".local")]


def tracked_problems(root: Path) -> list[Problem]:
    return [
        Problem(path, "must never be committed: git rm --cached it and rotate its secrets")
        for path in tracked_env_files(root)
    ]
