"""Real builds of app/Dockerfile from the local Node base, real pushes to a local registry.

Nothing here talks to anything but 127.0.0.1 (the engine's socket and registries the
tests start themselves).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
import time
import urllib.request

import pytest

from shipwright import PROJECT_ROOT
from shipwright.errors import ExitCode
from shipwright.image import build as builder
from shipwright.image import push as pusher
from shipwright.image import record as records
from shipwright.image.tags import GitInfo
from shipwright.runner import Runner
from shipwright.settings import load_settings

pytestmark = pytest.mark.integration

MANIFEST_TYPES = ", ".join(
    [
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.oci.image.index.v1+json",
    ]
)
_LOCAL = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def registry_get(url: str) -> tuple[int, dict, bytes]:
    request = urllib.request.Request(url, headers={"Accept": MANIFEST_TYPES})
    with _LOCAL.open(request, timeout=10) as response:
        return response.status, dict(response.headers), response.read()


def image_settings(repository: str, base: str, **extra: str):
    overrides = {"IMAGE_REPOSITORY": repository, "BASE_IMAGE": base, **extra}
    return load_settings("development", overrides=overrides, environ={})


@pytest.fixture(scope="module")
def records_root(tmp_path_factory):
    return tmp_path_factory.mktemp("image-records")


@pytest.fixture(scope="module")
def main_git():
    return GitInfo("main", secrets.token_hex(20))


@pytest.fixture(scope="module")
def production(registry, node_base, records_root, main_git):
    """One production build on main, shared by the tests of this module."""
    settings = image_settings(f"{registry.addr}/learinal-backend", node_base)
    started = time.monotonic()
    record = builder.build_image(
        settings, Runner(), git=main_git, root=records_root, context=PROJECT_ROOT / "app"
    )
    print(f"production build took {time.monotonic() - started:.1f}s")
    return settings, record


def test_production_image_has_labels_user_and_healthcheck(
    client, production, main_git, records_root
):
    _, record = production
    assert record.tags == [f"main-{main_git.short_sha}", "latest"]
    image = client.images.get(record.image_id)
    assert f"{record.repository}:latest" in image.tags
    config = image.attrs["Config"]
    labels = config["Labels"]
    assert labels["org.opencontainers.image.revision"] == main_git.sha
    assert labels["org.opencontainers.image.version"] == record.version
    assert labels["org.opencontainers.image.created"] == record.created
    assert labels["io.shipwright.target"] == "production"
    assert config["User"] == "1001"
    assert any("/health" in part for part in config["Healthcheck"]["Test"])
    env = dict(item.split("=", 1) for item in config["Env"])
    assert env["APP_VERSION"] == record.version and env["GIT_SHA"] == main_git.sha
    uid = client.containers.run(record.image_id, ["id", "-u"], remove=True, network_mode="host")
    assert uid.decode().strip() == "1001"
    assert records.load(record.version, records_root).image_id == record.image_id


def test_development_image(client, registry, node_base, records_root):
    git = GitInfo("feature/dev-image", secrets.token_hex(20))
    settings = image_settings(f"{registry.addr}/learinal-backend", node_base)
    record = builder.build_image(
        settings,
        Runner(),
        git=git,
        target="development",
        root=records_root,
        context=PROJECT_ROOT / "app",
    )
    assert record.tags == [f"feature-dev-image-{git.short_sha}-dev"]
    config = client.images.get(record.image_id).attrs["Config"]
    assert config["Labels"]["io.shipwright.target"] == "development"
    assert "--watch" in config["Cmd"]
    env = dict(item.split("=", 1) for item in config["Env"])
    assert env["NODE_ENV"] == "development"


def test_build_failure_names_the_step(tmp_path, node_base, registry):
    (tmp_path / "Dockerfile").write_text(
        f"FROM {node_base} AS production\nRUN echo preparing\nRUN echo 'the real cause' && exit 3\n"
    )
    settings = image_settings(f"{registry.addr}/broken", node_base)
    with pytest.raises(Exception) as caught:
        builder.build_image(
            settings, Runner(), git=GitInfo("x", "a" * 40), root=tmp_path, context=tmp_path
        )
    message = str(caught.value)
    assert re.search(
        r"docker build failed at Step 3/\d+ : RUN echo 'the real cause' && exit 3", message
    )
    assert "returned a non-zero code: 3" in message and "the real cause" in message


def test_push_records_the_registry_digest(production, registry, records_root, main_git):
    settings, built = production
    pushed = pusher.push_image(settings, Runner(), git=main_git, root=records_root)
    repo_path = "learinal-backend"
    for tag in built.tags:  # every tag is in the registry, under one manifest
        status, headers, _ = registry_get(f"http://{registry.addr}/v2/{repo_path}/manifests/{tag}")
        assert status == 200
        assert headers["Docker-Content-Digest"] == pushed.digest
    _, _, body = registry_get(f"http://{registry.addr}/v2/{repo_path}/tags/list")
    assert set(built.tags) <= set(json.loads(body)["tags"])
    resolved = records.resolve(built.version, records_root)
    assert resolved.reference == f"{registry.addr}/learinal-backend:{built.version}@{pushed.digest}"
    assert resolved.registries == [registry.addr]


def _htpasswd_registry(tmp_path, user: str, password: str):
    """A docker-registry on 127.0.0.1 that demands basic auth."""
    import bcrypt
    from support.sandbox import _proc

    port = _proc.free_port()
    hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=5)).decode()
    (tmp_path / "htpasswd").write_text(f"{user}:{hashed}\n")
    (tmp_path / "config.yml").write_text(
        "version: 0.1\nlog: {level: info}\n"
        f"storage: {{filesystem: {{rootdirectory: {tmp_path / 'storage'}}}}}\n"
        f"http: {{addr: '127.0.0.1:{port}', secret: {secrets.token_hex(8)}}}\n"
        f"auth: {{htpasswd: {{realm: shipwright-test, path: {tmp_path / 'htpasswd'}}}}}\n"
    )
    log = tmp_path / "registry.log"
    proc = _proc.start_process(["docker-registry", "serve", str(tmp_path / "config.yml")], log)
    _proc.wait_until(
        lambda: _proc.http_status(f"http://127.0.0.1:{port}/v2/") == 401,
        timeout=20,
        what="registry with auth",
        log=log,
        proc=proc,
    )
    return proc, f"127.0.0.1:{port}"


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "-m", "invoke", *args],
        cwd=PROJECT_ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )
    assert "No idea what" not in result.stderr, f"tasks.py does not load tasks/image.py: {result}"
    return result


def test_failed_push_via_the_cli_is_clear_and_non_zero(client, production, docker_host):
    from support.sandbox.registry import Registry

    _, built = production
    with Registry() as gone:
        addr = gone.addr
    repository = f"{addr}/learinal-backend"
    sha = secrets.token_hex(20)
    env = {"GITHUB_REF_NAME": "cli/push", "GITHUB_SHA": sha, "DOCKER_HOST": docker_host}
    version = f"cli-push-{sha[:7]}"
    client.images.get(built.image_id).tag(repository, version)
    try:
        started = time.monotonic()
        result = _cli("image.push", "--set", f"IMAGE_REPOSITORY={repository}", env=env)
        elapsed = time.monotonic() - started
    finally:
        client.images.remove(f"{repository}:{version}", noprune=True)
    output = result.stdout + result.stderr
    assert result.returncode == ExitCode.FAILED, output
    assert f"registry {addr}" in output and "gave up after 3 attempts" in output, output
    assert "connection refused" in output.lower()
    assert elapsed < 120
    assert not (PROJECT_ROOT / ".shipwright" / "images" / f"{version}.json").exists()


def test_push_with_credentials_and_a_clear_error_for_wrong_ones(
    tmp_path, client, production, docker_host
):
    from support.sandbox import _proc

    _, built = production
    proc, addr = _htpasswd_registry(tmp_path, "ci-bot", "right-password-123")
    repository = f"{addr}/learinal-backend"
    try:
        # the right credentials: login, push, digest recorded
        root = tmp_path / "records"
        records.save(records.ImageRecord.from_dict(built.to_dict()), root)
        good = image_settings(
            repository, "unused", DOCKER_USERNAME="ci-bot", DOCKER_PASSWORD="right-password-123"
        )
        record = pusher.push_image(good, Runner(), version=built.version, root=root)
        assert record.digest.startswith("sha256:") and record.repository == repository

        # wrong ones, through the CLI: exit 1, the registry named, nothing retried or leaked
        sha = secrets.token_hex(20)
        version = f"cli-auth-{sha[:7]}"
        client.images.get(built.image_id).tag(repository, version)
        env = {
            "GITHUB_REF_NAME": "cli-auth",
            "GITHUB_SHA": sha,
            "DOCKER_HOST": docker_host,
            "DOCKER_USERNAME": "ci-bot",
            "DOCKER_PASSWORD": "wrong-password-456",
        }
        result = _cli("image.push", "--set", f"IMAGE_REPOSITORY={repository}", env=env)
        output = result.stdout + result.stderr
        assert result.returncode == ExitCode.FAILED, output
        assert f"authentication to registry {addr} failed" in output, output
        assert "retrying" not in output
        assert "wrong-password-456" not in output
    finally:
        _proc.stop_process(proc)
        for image in client.images.list(name=repository):
            for tag in image.tags:
                if tag.startswith(repository + ":"):
                    client.images.remove(tag, noprune=True)
