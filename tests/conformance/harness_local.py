"""The local target on this machine's Docker engine: the project's Compose stack with the
backend pinned to images built from app/ on the local Node base and pushed to the
local registry (``invoke local.prepare`` makes both)."""

from __future__ import annotations

import io
import secrets
import shutil
import tempfile
from pathlib import Path

import pytest
from harness import Harness
from helpers import require
from support.sandbox import free_port, free_ports

from shipwright import PROJECT_ROOT
from shipwright.domain import Release
from shipwright.errors import ExitCode
from shipwright.runner import Runner
from shipwright.settings import load_settings
from shipwright.targets.local_compose import session

DOCKERFILE = """\
FROM {base}
COPY src /app/src
WORKDIR /app
ENV NODE_ENV=production
ENTRYPOINT ["dumb-init", "--"]
CMD ["node", "src/server.js"]
"""


def _push(client, repo: str, tag: str) -> str:
    for line in client.api.push(repo, tag=tag, stream=True, decode=True):
        if "error" in line:
            raise RuntimeError(f"push {repo}:{tag}: {line['error']}")
    digests = client.api.inspect_image(f"{repo}:{tag}")["RepoDigests"]
    return next(d for d in digests if d.startswith(repo + "@")).split("@", 1)[1]


@pytest.fixture(scope="module")
def local_harness(tmp_path_factory):
    import docker

    from shipwright import localdefault

    try:
        overrides = localdefault.prepare(
            load_settings("development", environ={}), Runner(echo=False), persist=False
        )
    except Exception as exc:  # noqa: BLE001 - no engine, registry binary, redis …
        require(False, f"the local default cannot be prepared here: {exc}")
    app = f"swconf{secrets.token_hex(3)}"
    redis = free_port()
    port, redis_port = str(free_ports(3, besides=redis)), str(redis)  # PORT, +1, +2
    settings = load_settings(
        "development",
        overrides={
            **overrides,
            "APP_NAME": app,
            "PORT": port,
            "REDIS_PORT": redis_port,
            "REDIS_URI": f"redis://127.0.0.1:{redis_port}",  # the stack's: /readyz needs it
            "MONGO_URI": "",
            "APP_URL": f"http://127.0.0.1:{port}",
            "HEALTHCHECK_INTERVAL": "1s",
            "DEPLOY_READY_TIMEOUT": "10",
            "HEALTH_DEADLINE": "15",
            "SHIPWRIGHT_STATE_DIR": str(tmp_path_factory.mktemp("local-conformance")),
        },
        environ={},
    )
    repo = settings["IMAGE_REPOSITORY"]
    client = docker.from_env(timeout=600)
    with tempfile.TemporaryDirectory() as ctx:
        shutil.copytree(PROJECT_ROOT / "app" / "src", Path(ctx) / "src")
        (Path(ctx) / "Dockerfile").write_text(DOCKERFILE.format(base=overrides["BASE_IMAGE"]))
        client.images.build(path=ctx, tag=f"{repo}:v1", rm=True)
    derived = {"v2": "LABEL io.shipwright.test=v2", "bad": "ENV APP_UNHEALTHY=1"}
    for tag, line in derived.items():
        text = f"FROM {repo}:v1\n{line}\n".encode()
        client.images.build(fileobj=io.BytesIO(text), tag=f"{repo}:{tag}", rm=True)
    releases = {
        tag: Release("development", tag, f"{repo}:{tag}@{_push(client, repo, tag)}")
        for tag in ("v1", "v2", "bad")
    }
    try:
        yield Harness(
            "local",
            settings,
            (releases["v1"], releases["v2"]),
            releases["bad"],
            bad_exit=ExitCode.FAILED,  # never ready on its idle colour: no traffic moved
        )
    finally:
        session.down(settings, Runner(echo=False), volumes=True)
        for tag in releases:
            client.images.remove(f"{repo}:{tag}", noprune=True)
        client.close()
