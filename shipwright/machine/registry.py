"""A Docker registry on this machine's loopback, for the local default.

Why it outlives the process that starts it: a deploy pins the backend to an image by
digest from this registry, and a later rollback pulls that digest again -- so the
registry is started detached (own session, re-parented to init, like dockerd) with its
storage under /var/tmp, or as a ``registry:2`` container where only that image exists.
"""

from __future__ import annotations

import os
import secrets
import shutil
from pathlib import Path
from typing import Any

from shipwright import httpcall
from shipwright.errors import ConfigError, ShipwrightError
from shipwright.machine.process import file_lock, start_detached, tcp_answers, wait_until
from shipwright.output import status
from shipwright.runner import Runner

REGISTRY_DIR = Path(
    os.environ.get("SHIPWRIGHT_LOCAL_REGISTRY_DIR", "/var/tmp/shipwright-local-registry")
)
CONTAINER = "shipwright-local-registry"
IMAGE = "registry:2"
_CONFIG = """\
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


def config_text(storage: Path | str, address: str, secret: str) -> str:
    """The registry's config.yml: filesystem storage, deletes allowed, no access log."""
    return _CONFIG.format(root=storage, addr=address, secret=secret)


def answers(address: str, timeout: float = 1.0) -> bool:
    """A distribution registry answers ``GET /v2/`` with 200 on ``address``."""
    return httpcall.request("GET", f"http://{address}/v2/", timeout=timeout).status == 200


def which(name: str) -> str | None:
    return shutil.which(name) or shutil.which(name, path="/usr/bin:/usr/sbin:/bin:/sbin")


def ensure_registry(
    address: str,
    runner: Runner,
    *,
    can_run_image: Any = None,
    run_image: Any = None,
) -> str:
    """A registry answering on ``address`` (host:port on loopback) that outlives this
    process; one that already answers is reused. ``docker-registry`` from the machine
    when installed, else ``run_image()`` when ``can_run_image()`` says the engine has
    (or may pull) ``registry:2``. Returns ``address``."""
    host, _, port = address.rpartition(":")
    if not port.isdigit():
        raise ConfigError(f"the local registry needs a port: {address!r} (e.g. 127.0.0.1:5000)")
    if answers(address):
        status(True, f"registry {address}: answering")
        return address
    with file_lock(REGISTRY_DIR / "start.lock"):
        if answers(address):
            return address
        if tcp_answers(host.strip("[]"), int(port)):
            raise ShipwrightError(f"{address} is taken by something that is not a registry")
        if which("docker-registry"):
            runner.api(f"start docker-registry on {address}", serve_detached, address)
        elif can_run_image is not None and can_run_image():
            runner.api(f"run {IMAGE} on {address}", run_image)
        elif not runner.dry_run:
            raise ConfigError(
                f"no registry can be started on {address}: install docker-registry "
                f"(apt-get install docker-registry) or set SHIPWRIGHT_ALLOW_PULL=1 to run "
                f"{IMAGE}"
            )
        if not runner.dry_run:
            log = REGISTRY_DIR / "registry.log"
            wait_until(lambda: answers(address), timeout=30, what=f"registry {address}", log=log)
    if not runner.dry_run:
        status(True, f"registry {address}: started (storage {REGISTRY_DIR / 'storage'})")
    return address


def serve_detached(address: str) -> None:
    """``docker-registry serve`` detached: it keeps serving after this process ends."""
    storage = REGISTRY_DIR / "storage"
    storage.mkdir(parents=True, exist_ok=True)
    secret_file = REGISTRY_DIR / "http-secret"
    if not secret_file.exists():
        secret_file.write_text(secrets.token_hex(16))
        secret_file.chmod(0o600)
    config = REGISTRY_DIR / "config.yml"
    config.write_text(config_text(storage, address, secret_file.read_text()))
    config.chmod(0o600)
    binary = which("docker-registry") or "docker-registry"
    start_detached([binary, "serve", str(config)], REGISTRY_DIR / "registry.log")


def run_container(client: Any, address: str) -> None:
    """``registry:2`` on the host network, restarted with the engine, storage as above."""
    import docker

    storage = REGISTRY_DIR / "storage"
    storage.mkdir(parents=True, exist_ok=True)
    try:
        client.containers.get(CONTAINER).start()
        return
    except docker.errors.NotFound:
        pass
    client.containers.run(
        IMAGE,
        detach=True,
        name=CONTAINER,
        network_mode="host",
        restart_policy={"Name": "unless-stopped"},
        environment={"REGISTRY_HTTP_ADDR": address, "REGISTRY_STORAGE_DELETE_ENABLED": "true"},
        volumes={str(storage): {"bind": "/var/lib/registry", "mode": "rw"}},
    )
