"""docker-compose.yml on the local engine: backend + redis up with --wait, then down.

Host networking on free loopback ports; the backend image is built here from the local
Node base and redis comes from a locally built image (nothing can be pulled).
"""

from __future__ import annotations

import json
import secrets
import stat
import urllib.error
import urllib.request

import pytest
from support.sandbox import _proc

from shipwright import PROJECT_ROOT
from shipwright.compose import local
from shipwright.image import build as builder
from shipwright.image.tags import GitInfo
from shipwright.runner import Runner
from shipwright.settings import load_settings

pytestmark = pytest.mark.integration
SECRET = "compose-secret-" + secrets.token_hex(12)
_LOCAL = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def get_json(url: str):
    try:
        with _LOCAL.open(url, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.fixture(scope="module")
def backend_image(registry, node_base, tmp_path_factory, run_id):
    return build_app(
        f"{registry.addr}/compose-backend-{run_id}",
        node_base,
        tmp_path_factory.mktemp("compose-records"),
    )


def build_app(repository: str, node_base: str, records, target: str = "production") -> str:
    """Build app/ into a repository on the local registry (so the build's cache lookup
    stays on 127.0.0.1); returns the image reference."""
    settings = load_settings(
        "development",
        overrides={"IMAGE_REPOSITORY": repository, "BASE_IMAGE": node_base},
        environ={},
    )
    return builder.build_image(
        settings,
        Runner(),
        git=GitInfo("compose", secrets.token_hex(20)),
        target=target,
        root=records,
        context=PROJECT_ROOT / "app",
    ).reference


def test_compose_up_wait_then_down(client, compose, backend_image, redis_image, run_id):
    port, redis_port = _proc.free_port(), _proc.free_port()
    settings = load_settings(
        "development",
        overrides={
            "APP_NAME": f"swtest{run_id}",
            "PORT": str(port),
            "REDIS_PORT": str(redis_port),
            "REDIS_URI": f"redis://127.0.0.1:{redis_port}",
            "MONGO_URI": "",  # no MongoDB here: the backend then has no mongo dependency
            "REDIS_IMAGE": redis_image,
            "BACKEND_HOST": "127.0.0.1",
            "HEALTHCHECK_INTERVAL": "1s",
            "JWT_SECRET": SECRET,
        },
        environ={},
    )
    runner = Runner()
    env_file = local.env_file_path(settings)
    try:
        local.up(settings, runner, image=backend_image, wait=True, wait_timeout=120)
        assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
        assert SECRET in env_file.read_text()

        states = {c["Service"]: c for c in local.ps(settings, runner)}
        assert sorted(states) == ["backend", "redis"]
        assert all(c["State"] == "running" and c["Health"] == "healthy" for c in states.values())

        assert get_json(f"http://127.0.0.1:{port}/health")[0] == 200
        status, ready = get_json(f"http://127.0.0.1:{port}/readyz")
        assert status == 200 and ready["checks"]["redis"]["ok"], ready

        backend = client.containers.get(states["backend"]["ID"])
        assert f"JWT_SECRET={SECRET}" in backend.attrs["Config"]["Env"]  # via the env file
        assert backend.attrs["Config"]["Image"] == backend_image
        assert SECRET not in " ".join(backend.attrs["Args"] + [backend.attrs["Path"]])
    finally:
        local.down(settings, runner, volumes=True)
    assert local.ps(settings, runner) == []
    assert not env_file.exists()


def test_dev_stack_runs_the_development_stage_with_the_source_mounted(
    client, compose, registry, node_base, redis_image, run_id, tmp_path
):
    dev_image = build_app(
        f"{registry.addr}/compose-dev-{run_id}", node_base, tmp_path, target="development"
    )
    port, redis_port = _proc.free_port(), _proc.free_port()
    settings = load_settings(
        "development",
        overrides={
            "APP_NAME": f"swtest{run_id}",
            "PORT": str(port),
            "REDIS_PORT": str(redis_port),
            "REDIS_URI": f"redis://127.0.0.1:{redis_port}",
            "MONGO_URI": "",
            "REDIS_IMAGE": redis_image,
            "HEALTHCHECK_INTERVAL": "1s",
        },
        environ={},
    )
    runner = Runner()
    try:
        local.up(settings, runner, local.DEV_FILE, image=dev_image, wait_timeout=120)
        status, version = get_json(f"http://127.0.0.1:{port}/version")
        assert status == 200 and version["environment"] == "development"
        (backend,) = [
            c for c in local.ps(settings, runner, local.DEV_FILE) if c["Service"] == "backend"
        ]
        attrs = client.containers.get(backend["ID"]).attrs
        assert "LOG_LEVEL=debug" in attrs["Config"]["Env"]
        assert "--watch" in attrs["Args"]
        mount = next(m for m in attrs["Mounts"] if m["Destination"] == "/app/src")
        assert mount["Source"] == str(PROJECT_ROOT / "app" / "src") and not mount["RW"]
    finally:
        local.down(settings, runner, local.DEV_FILE, volumes=True)
    assert local.ps(settings, runner, local.DEV_FILE) == []
