"""Tag rules: <branch>-<shortsha> always, latest only for production on main."""

from __future__ import annotations

import subprocess

import pytest

from shipwright.errors import ConfigError, ExitCode
from shipwright.image.reference import TAG, check_repository, path_of, registry_of
from shipwright.image.tags import GitInfo, git_info, image_tags, sanitise, version_tag
from shipwright.runner import Runner

SHA = "1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d"


@pytest.mark.parametrize(
    ("branch", "expected"),
    [
        ("main", "main"),
        ("develop", "develop"),
        ("feature/Login#2", "feature-login-2"),
        ("feature//double__under", "feature-double__under"),
        ("-leading.and.trailing-.", "leading.and.trailing"),
        ("release/v1.2.3", "release-v1.2.3"),
        ("dependabot/npm_and_yarn/app/eslint-9.1", "dependabot-npm_and_yarn-app-eslint-9.1"),
        ("123/merge", "123-merge"),
        ("ÜBER ümlaut", "ber-mlaut"),
        ("", "detached"),
        ("///", "detached"),
    ],
)
def test_sanitise(branch, expected):
    assert sanitise(branch) == expected


@pytest.mark.parametrize(
    "branch", ["feature/" + "x" * 300, "a/b/c", "...", "UPPER", "🚀 rocket", "x" * 128]
)
def test_every_version_tag_is_a_valid_docker_tag(branch):
    for target in ("production", "development"):
        tag = version_tag(GitInfo(branch, SHA), target)
        assert TAG.fullmatch(tag), tag
        assert len(tag) <= 128
        assert tag.endswith("1a2b3c4" if target == "production" else "1a2b3c4-dev")


def test_latest_only_on_main():
    assert image_tags(GitInfo("main", SHA)) == ["main-1a2b3c4", "latest"]
    assert image_tags(GitInfo("develop", SHA)) == ["develop-1a2b3c4"]
    assert image_tags(GitInfo("feature/main", SHA)) == ["feature-main-1a2b3c4"]
    # a development build never moves latest nor overwrites the production tag
    assert image_tags(GitInfo("main", SHA), "development") == ["main-1a2b3c4-dev"]


def test_git_info_prefers_ci_variables():
    runner = Runner(echo=False)
    env = {"GITHUB_REF_NAME": "develop", "GITHUB_SHA": SHA.upper()}
    assert git_info(runner, environ=env) == GitInfo("develop", SHA)
    env["GITHUB_HEAD_REF"] = "feature/x"  # a pull request: the source branch counts
    assert git_info(runner, environ=env).branch == "feature/x"


def test_git_info_rejects_a_bad_sha():
    with pytest.raises(ConfigError, match="not a git commit sha"):
        git_info(Runner(echo=False), environ={"GITHUB_REF_NAME": "x", "GITHUB_SHA": "nope"})


def _git(cwd, *args):
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def test_git_info_from_a_checkout(tmp_path):
    _git(tmp_path, "init", "-q", "-b", "feature/From-Git")
    _git(
        tmp_path,
        "-c",
        "user.name=t",
        "-c",
        "user.email=t@t",
        "commit",
        "-q",
        "--allow-empty",
        "-m",
        "x",
    )
    sha = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=tmp_path, capture_output=True, text=True, check=True
    ).stdout.strip()
    runner = Runner(dry_run=True)  # git is read-only: it runs even in dry-run mode
    info = git_info(runner, tmp_path, environ={})
    assert info == GitInfo("feature/From-Git", sha)
    assert runner.plan == []
    assert version_tag(info) == f"feature-from-git-{sha[:7]}"


def test_git_info_without_a_commit_is_a_config_error(tmp_path):
    _git(tmp_path, "init", "-q")
    with pytest.raises(ConfigError, match="GITHUB_SHA") as caught:
        git_info(Runner(echo=False), tmp_path, environ={})
    assert caught.value.exit_code == ExitCode.BAD_INPUT


@pytest.mark.parametrize(
    ("repository", "registry", "path"),
    [
        ("127.0.0.1:5000/learinal-backend", "127.0.0.1:5000", "learinal-backend"),
        ("localhost/app", "localhost", "app"),
        ("docker.io/learinal/learinal-backend", "docker.io", "learinal/learinal-backend"),
        ("learinal/learinal-backend", "docker.io", "learinal/learinal-backend"),
        ("redis", "docker.io", "library/redis"),
        ("ghcr.io/org/team/app", "ghcr.io", "org/team/app"),
        ("index.docker.io/learinal/x", "docker.io", "learinal/x"),
    ],
)
def test_registry_of_any_repository(repository, registry, path):
    assert registry_of(repository) == registry
    assert path_of(repository) == path
    assert check_repository(repository) == repository


@pytest.mark.parametrize(
    "repository", ["127.0.0.1:5000/app:latest", "Upper/Case", "repo@sha256:abc", "a//b", ""]
)
def test_invalid_repositories_are_config_errors(repository):
    with pytest.raises(ConfigError):
        check_repository(repository)
