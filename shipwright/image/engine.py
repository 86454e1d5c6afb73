"""The Docker engine connection, and turning SDK errors into messages a user can act on.

Why here: ``docker`` is a heavy import that tasks must not pay for at load time, and
"engine not running" deserves one clear message instead of a urllib3 traceback.
"""

from __future__ import annotations

import os
from typing import Any

from shipwright.errors import ShipwrightError

#: Seconds one engine API call may take; builds and pushes stream, so this bounds
#: silence on the connection rather than the whole operation.
API_TIMEOUT = 600


def docker_client(timeout: int = API_TIMEOUT) -> Any:
    """A ``docker.DockerClient`` from the environment (DOCKER_HOST …) that answers."""
    import docker

    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    try:
        client = docker.from_env(timeout=timeout)
        client.ping()
    except docker.errors.DockerException as exc:
        raise ShipwrightError(
            f"cannot reach the Docker engine at {host}: {short(exc)} "
            "(is dockerd running? is DOCKER_HOST right?)"
        ) from None
    return client


def image_exists(client: Any, reference: str) -> bool:
    import docker

    try:
        client.images.get(reference)
    except docker.errors.ImageNotFound:
        return False
    return True


def short(exc: BaseException) -> str:
    """An SDK exception as one line: the engine's explanation when it gave one."""
    explanation = getattr(exc, "explanation", None)
    text = explanation.decode() if isinstance(explanation, bytes) else explanation
    return " ".join(str(text or exc).split())
