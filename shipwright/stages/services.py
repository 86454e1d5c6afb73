"""Services the integration tests need (Redis 7, MongoDB 7), started and always torn down.

Where each comes from, first match wins: a URI the caller gave (process environment
or --set, as CI service containers do); a container on a reachable Docker engine that already
has the image; a local server binary (redis-server); else a
clear error (Redis) or a skip line (MongoDB, which cannot run everywhere).
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from urllib.parse import urlsplit

from shipwright.errors import ShipwrightError
from shipwright.output import status
from shipwright.retry import poll
from shipwright.settings import Settings

GIVEN_LAYERS = ("process environment", "--set")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def redis_ping(uri: str, timeout: float = 1.0) -> bool:
    parts = urlsplit(uri)
    try:
        with socket.create_connection((parts.hostname, parts.port or 6379), timeout) as sock:
            if parts.password:
                sock.sendall(f"AUTH {parts.password}\r\n".encode())
                sock.recv(64)
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def tcp_open(uri: str, default_port: int, timeout: float = 1.0) -> bool:
    parts = urlsplit(uri.split(",")[0])
    try:
        with socket.create_connection((parts.hostname, parts.port or default_port), timeout):
            return True
    except OSError:
        return False


def wait_until(check, what: str, timeout: float = 30.0) -> None:
    if not poll(check, timeout=timeout, interval=0.2).ok:
        raise ShipwrightError(f"{what} did not become ready within {timeout:.0f}s")


def _given(settings: Settings, key: str) -> str | None:
    source = settings.sources.get(key)
    return settings.get(key) if source and source.layer in GIVEN_LAYERS else None


def _docker_client():
    try:
        import docker

        client = docker.from_env(timeout=10)
        client.ping()
        return client
    except Exception:  # no SDK, no engine: the next strategy applies
        return None


def _image_available(client, image: str) -> bool:
    """Only an image the engine already has: pulling would reach out to a public
    registry, which a laptop may allow but CI machines here must never try."""
    import docker.errors

    try:
        client.images.get(image)
        return True
    except docker.errors.ImageNotFound:
        return False


@contextlib.contextmanager
def _container(client, image: str, command: list[str], name: str) -> Iterator[None]:
    container = client.containers.run(
        image,
        command,
        detach=True,
        network_mode="host",
        name=f"shipwright-{name}-{os.getpid()}",
        auto_remove=False,
    )
    try:
        yield
    finally:
        container.remove(force=True)


@contextlib.contextmanager
def _redis_process(port: int) -> Iterator[None]:
    with tempfile.TemporaryDirectory(prefix="shipwright-redis-") as workdir:
        process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                workdir,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            yield
        finally:
            process.terminate()
            process.wait(timeout=10)


@contextlib.contextmanager
def redis(settings: Settings) -> Iterator[str]:
    given = _given(settings, "REDIS_URI")
    if given:
        wait_until(lambda: redis_ping(given), "Redis at REDIS_URI")
        status(True, "Redis: using REDIS_URI")
        yield given
        return
    port = free_port()
    uri = f"redis://127.0.0.1:{port}"
    image = os.environ.get("REDIS_IMAGE", "redis:7-alpine")
    client = _docker_client()
    if client is not None and _image_available(client, image):
        starter = _container(client, image, ["redis-server", "--port", str(port)], "redis")
        how = f"container {image}"
    elif _which("redis-server"):
        starter, how = _redis_process(port), "local redis-server"
    else:
        raise ShipwrightError(
            "Redis is needed for the integration tests: set REDIS_URI, start a Docker engine "
            f"that has {image}, or install redis-server"
        )
    with starter:
        wait_until(lambda: redis_ping(uri), f"Redis ({how})")
        status(True, f"Redis: {how} on port {port}")
        yield uri


@contextlib.contextmanager
def mongo(settings: Settings) -> Iterator[str | None]:
    given = _given(settings, "MONGO_URI")
    if given:
        wait_until(lambda: tcp_open(given, 27017), "MongoDB at MONGO_URI")
        status(True, "MongoDB: using MONGO_URI")
        yield given
        return
    image = os.environ.get("MONGO_IMAGE", "mongo:7")
    client = _docker_client()
    if client is None or not _image_available(client, image):
        status(
            None, f"MongoDB: no MONGO_URI and no {image} image or engine; its checks are skipped"
        )
        yield None
        return
    port = free_port()
    uri = f"mongodb://127.0.0.1:{port}/learinal_test"
    with _container(
        client, image, ["mongod", "--port", str(port), "--bind_ip", "127.0.0.1"], "mongo"
    ):
        wait_until(lambda: tcp_open(uri, 27017), f"MongoDB ({image})", timeout=60)
        status(True, f"MongoDB: container {image} on port {port}")
        yield uri


def _which(name: str) -> bool:
    from shutil import which

    return which(name) is not None
