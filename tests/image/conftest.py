"""Real components for the image and compose tests: engine, registry, local base images.

The engine comes from support.sandbox (started when none answers). Outside CI a
missing component skips the integration tests; with CI=true it fails them.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import pytest
from helpers import require

from shipwright import PROJECT_ROOT
from shipwright.image.tags import GitInfo


@pytest.fixture(scope="session")
def docker_host():
    from shipwright.machine import dockerd

    try:
        host = dockerd.ensure_engine()
    except Exception as exc:  # SandboxError, dockerd missing …
        require(False, f"no Docker engine: {exc}")
    previous = os.environ.get("DOCKER_HOST")
    os.environ["DOCKER_HOST"] = host
    yield host
    if previous is None:
        os.environ.pop("DOCKER_HOST", None)
    else:
        os.environ["DOCKER_HOST"] = previous


@pytest.fixture(scope="session")
def client(docker_host):
    import docker

    client = docker.DockerClient(base_url=docker_host, timeout=600)
    yield client
    client.close()


@pytest.fixture(scope="session")
def node_base(client):
    from shipwright.machine import rootfs as base_image

    return base_image.ensure_node_base(client)


@pytest.fixture(scope="session")
def redis_image(client):
    """redis-server and redis-cli from the host in a busybox root filesystem."""
    from shipwright.machine import rootfs

    require(Path("/usr/bin/redis-server").exists(), "redis-server is not installed on the host")
    return rootfs.ensure_redis_image(client)


@pytest.fixture(scope="module")
def registry(client):
    """A local registry; the images tagged for it are untagged again afterwards."""
    from support.sandbox.registry import Registry

    with Registry() as reg:
        yield reg
    for image in client.images.list():
        for tag in image.tags:
            if tag.startswith(f"{reg.addr}/"):
                client.images.remove(tag, noprune=True)


@pytest.fixture(scope="session")
def compose() -> list[str]:
    """The Compose v2 argv prefix (found once)."""
    from shipwright.compose import local
    from shipwright.errors import ConfigError

    try:
        return local.compose_command()
    except ConfigError as exc:
        require(False, str(exc))


@pytest.fixture(scope="session")
def run_id() -> str:
    return secrets.token_hex(3)


@pytest.fixture
def git(run_id) -> GitInfo:
    return GitInfo(f"feature/Test#{run_id}", secrets.token_hex(20))


@pytest.fixture
def app_context() -> Path:
    return PROJECT_ROOT / "app"
