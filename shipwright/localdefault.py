"""The local default: what a machine needs before ``nox -s ci`` can deploy development
to its own Docker engine -- and the settings overrides that point the pipeline at it.

``prepare()`` is idempotent (a second run only checks) and does, in order:

1. a Docker engine that answers (an existing one is left alone; else dockerd starts);
2. a registry on IMAGE_REPOSITORY's loopback address (127.0.0.1:5000 in development)
   that outlives this process, so the images a deploy pins by digest stay pullable:
   ``docker-registry serve`` detached, storage under /var/tmp/shipwright-local-registry
   (or a ``registry:2`` container where only that image exists, e.g. a laptop);
3. a Node base image for the build: BASE_IMAGE (node:18-alpine) when the engine has it
   or may pull it, else one built from this machine's node/npm (``BASE_IMAGE`` override);
4. a Redis image for the stack: REDIS_IMAGE (redis:7-alpine) likewise, else one built
   from this machine's redis-server (``REDIS_IMAGE`` override);
5. MongoDB, when MONGO_URI points at this machine: MONGO_IMAGE (mongo:7) when present
   or pullable; else ``MONGO_URI=""`` and the backend runs without it (no MongoDB server
   can be built locally).

Pulling from a public registry happens only with SHIPWRIGHT_ALLOW_PULL=1
(:mod:`shipwright.targets.local_compose.images`): some machines must never try.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path
from typing import Any

from shipwright.errors import ConfigError, ShipwrightError
from shipwright.image.engine import image_exists, short
from shipwright.image.reference import registry_of
from shipwright.output import status
from shipwright.runner import Runner
from shipwright.settings import Settings
from shipwright.targets.local_compose.commands import THIRD_PARTY, mongo_is_local
from shipwright.targets.local_compose.images import ALLOW_PULL, is_loopback, pull, pull_allowed

REGISTRY_DIR = Path(
    os.environ.get("SHIPWRIGHT_LOCAL_REGISTRY_DIR", "/var/tmp/shipwright-local-registry")
)
REGISTRY_CONTAINER = "shipwright-local-registry"
REGISTRY_IMAGE = "registry:2"
REDIS_LOCAL_TAG = "shipwright/redis:7-local"
DEFAULT_BASE = "node:18-alpine"
_REGISTRY_CONFIG = """\
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: {root}
  delete:
    enabled: true
http:
  addr: {addr}
  secret: {secret}
"""


def prepare(settings: Settings, runner: Runner) -> dict[str, str]:
    """Make this machine ready for the local default; return the overrides (KEY -> value)
    the pipeline passes on (process environment or ``--set``)."""
    from shipwright.sandbox import dockerd

    overrides: dict[str, str] = {}
    wanted = os.environ.get("DOCKER_HOST") or dockerd.DEFAULT_HOST
    if runner.dry_run and not dockerd.engine_answers(wanted):
        host = runner.api(f"start dockerd on {wanted}", dockerd.ensure_engine)
    else:
        host = dockerd.ensure_engine()
    if host and host != wanted:
        overrides["DOCKER_HOST"] = host
    status(True, f"Docker engine: {host or 'would be started'}")
    client = _client(host) if host else None
    try:
        registry = registry_of(settings["IMAGE_REPOSITORY"])
        if is_loopback(registry):
            ensure_registry(registry, runner, client)
        else:
            status(None, f"registry {registry} is not on this machine: nothing to start")
        overrides["BASE_IMAGE"] = _base_image(settings, runner, client)
        overrides["REDIS_IMAGE"] = _redis_image(settings, runner, client)
        overrides.update(_mongo(settings, runner, client))
    finally:
        if client is not None:
            client.close()
    return overrides


def _client(host: str) -> Any:
    import docker

    return docker.DockerClient(base_url=host, timeout=600)


def _have_or_pull(client: Any, runner: Runner, reference: str) -> bool:
    """True when the engine has ``reference`` now (pulled if that is allowed)."""
    if client is not None and image_exists(client, reference):
        return True
    if not pull_allowed(reference):
        return False
    runner.api(f"docker pull {reference}", pull, client, reference)
    return True


# -- registry -----------------------------------------------------------------------------
def ensure_registry(address: str, runner: Runner, client: Any = None) -> str:
    """A registry answering on ``address`` (host:port on loopback) that outlives this
    process; one that already answers is reused. Returns ``address``."""
    from shipwright.sandbox import _proc

    host, _, port = address.rpartition(":")
    if not port.isdigit():
        raise ConfigError(f"the local registry needs a port: {address!r} (e.g. 127.0.0.1:5000)")
    url = f"http://{address}/v2/"
    if _answers(url):
        status(True, f"registry {address}: answering")
        return address
    with _proc.file_lock(REGISTRY_DIR / "start.lock"):
        if _answers(url):
            return address
        if _proc.tcp_answers(host.strip("[]"), int(port)):
            raise ShipwrightError(f"{address} is taken by something that is not a registry")
        if _which("docker-registry"):
            runner.api(f"start docker-registry on {address}", _serve_registry, address)
        elif client is not None and _have_or_pull(client, runner, REGISTRY_IMAGE):
            runner.api(f"run {REGISTRY_IMAGE} on {address}", _registry_container, client, address)
        elif not runner.dry_run:
            raise ConfigError(
                f"no registry can be started on {address}: install docker-registry "
                f"(apt-get install docker-registry) or set {ALLOW_PULL}=1 to run {REGISTRY_IMAGE}"
            )
        if not runner.dry_run:
            log = REGISTRY_DIR / "registry.log"
            _proc.wait_until(lambda: _answers(url), timeout=30, what=f"registry {address}", log=log)
    if not runner.dry_run:
        status(True, f"registry {address}: started (storage {REGISTRY_DIR / 'storage'})")
    return address


def _answers(url: str) -> bool:
    from shipwright.sandbox import _proc

    try:
        return _proc.http_status(url, timeout=1) == 200
    except OSError:
        return False


def _which(name: str) -> str | None:
    import shutil

    return shutil.which(name) or shutil.which(name, path="/usr/bin:/usr/sbin:/bin:/sbin")


def _serve_registry(address: str) -> None:
    """``docker-registry serve`` detached (own session, re-parented to init, like the
    sandbox's dockerd): it keeps serving after this process ends."""
    import subprocess

    storage = REGISTRY_DIR / "storage"
    storage.mkdir(parents=True, exist_ok=True)
    secret_file = REGISTRY_DIR / "http-secret"
    if not secret_file.exists():
        secret_file.write_text(secrets.token_hex(16))
        secret_file.chmod(0o600)
    config = REGISTRY_DIR / "config.yml"
    text = _REGISTRY_CONFIG.format(root=storage, addr=address, secret=secret_file.read_text())
    config.write_text(text)
    config.chmod(0o600)
    with open(REGISTRY_DIR / "registry.log", "ab") as log:
        subprocess.run(
            [
                "setsid",
                "--fork",
                _which("docker-registry") or "docker-registry",
                "serve",
                str(config),
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            check=True,
            timeout=10,
            close_fds=True,
        )


def _registry_container(client: Any, address: str) -> None:
    import docker

    storage = REGISTRY_DIR / "storage"
    storage.mkdir(parents=True, exist_ok=True)
    try:
        client.containers.get(REGISTRY_CONTAINER).start()
        return
    except docker.errors.NotFound:
        pass
    client.containers.run(
        REGISTRY_IMAGE,
        detach=True,
        name=REGISTRY_CONTAINER,
        network_mode="host",
        restart_policy={"Name": "unless-stopped"},
        environment={"REGISTRY_HTTP_ADDR": address, "REGISTRY_STORAGE_DELETE_ENABLED": "true"},
        volumes={str(storage): {"bind": "/var/lib/registry", "mode": "rw"}},
    )


# -- images -------------------------------------------------------------------------------
def _base_image(settings: Settings, runner: Runner, client: Any) -> str:
    """BASE_IMAGE when the engine has it (or may pull it), else the local Node base."""
    from shipwright.sandbox import base_image

    wanted = settings.get("BASE_IMAGE") or DEFAULT_BASE
    if _have_or_pull(client, runner, wanted):
        status(True, f"base image: {wanted}")
        return wanted
    tag = base_image.NODE_BASE_TAG
    runner.api(
        f"ensure {tag} (built from this machine's node and npm)",
        base_image.ensure_node_base,
        client,
    )
    status(True, f"base image: {tag} (built here; {wanted} is not on this engine)")
    return tag


def _redis_image(settings: Settings, runner: Runner, client: Any) -> str:
    key, default = THIRD_PARTY["redis"]
    wanted = settings.get(key) or os.environ.get(key) or default
    if _have_or_pull(client, runner, wanted):
        status(True, f"redis image: {wanted}")
        return wanted
    runner.api(
        f"ensure {REDIS_LOCAL_TAG} (built from this machine's redis-server)",
        ensure_redis_image,
        client,
    )
    status(True, f"redis image: {REDIS_LOCAL_TAG} (built here; {wanted} is not on this engine)")
    return REDIS_LOCAL_TAG


def _mongo(settings: Settings, runner: Runner, client: Any) -> dict[str, str]:
    if not mongo_is_local(settings.get("MONGO_URI")):
        return {}
    key, default = THIRD_PARTY["mongodb"]
    wanted = settings.get(key) or os.environ.get(key) or default
    if _have_or_pull(client, runner, wanted):
        status(True, f"mongodb image: {wanted}")
        return {key: wanted}
    status(
        None,
        f"mongodb: {wanted} is not on this engine and no MongoDB can be built here; the "
        f"backend runs without it (MONGO_URI=''). {ALLOW_PULL}=1 pulls {wanted} instead",
    )
    return {"MONGO_URI": ""}


def ensure_redis_image(client: Any, tag: str = REDIS_LOCAL_TAG) -> str:
    """redis-server and redis-cli from this machine in a busybox root filesystem (the
    compose file's redis command and healthcheck need just these); rebuilt only when
    this module or the host's binaries change. Uses the sandbox's root-filesystem
    helpers read-only."""
    from shipwright.sandbox import base_image as b

    server, cli = b._which("redis-server"), b._which("redis-cli")
    inputs = [os.path.realpath(p) for p in (server, cli, b._which("busybox"))]
    recipe = _recipe(*inputs)
    if b._up_to_date(client, tag, recipe):
        return tag

    def build(fs: Any) -> None:
        b._add_busybox(fs)
        for name, binary in (("redis-server", inputs[0]), ("redis-cli", inputs[1])):
            fs.file(f"/usr/bin/{name}", binary)
            for lib in b._ldd(binary):
                fs.host_path(lib)
        fs.dir("/data", 0o777)
        b._add_etc(fs, ca_bundle=False)

    changes = [*b.ENV_CHANGES, "WORKDIR /data", 'CMD ["redis-server"]']
    b._import(client, build, tag, [*changes, f"LABEL {b.RECIPE_LABEL}={recipe}"])
    try:
        version = b._run_in(client, tag, ["redis-server", "--version"])
    except Exception as exc:  # noqa: BLE001 - SandboxError with the container's output
        client.images.remove(tag, force=True)
        raise ShipwrightError(f"{tag} does not run redis-server: {short(exc)}") from None
    if "Redis server" not in version:
        client.images.remove(tag, force=True)
        raise ShipwrightError(f"{tag}: redis-server --version printed {version!r}")
    return tag


def _recipe(*paths: str) -> str:
    """This module's code and the host files the image is made of, fingerprinted."""
    digest = hashlib.sha256(Path(__file__).read_bytes())
    for path in paths:
        st = os.stat(path)
        digest.update(f"{path}:{st.st_size}:{st.st_mtime_ns}".encode())
    return digest.hexdigest()[:16]
