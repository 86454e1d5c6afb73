"""When the local engine may pull an image, and making sure a needed image is there.

Why a rule at all: ``docker compose up`` pulls any image it does not have, silently,
from wherever the name points -- ``redis:7-alpine`` means Docker Hub. Some machines
(CI sandboxes, air-gapped laptops) must never reach a public registry, and a failed
pull deep inside ``compose up`` explains nothing. So every image the local stack needs
is looked up first; a missing one is pulled only from a loopback registry (our own,
where the pipeline pushed it) or when ``SHIPWRIGHT_ALLOW_PULL=1`` says pulling from
the internet is fine on this machine. Otherwise the error says how to get it.
"""

from __future__ import annotations

import os
from typing import Any

from shipwright.errors import ConfigError, ShipwrightError
from shipwright.image.engine import image_exists, short
from shipwright.image.reference import ImageRef, registry_of
from shipwright.runner import Runner

ALLOW_PULL = "SHIPWRIGHT_ALLOW_PULL"
LOOPBACK_HOSTS = ("localhost", "::1", "[::1]")


def is_loopback(registry: str) -> bool:
    """``127.x.x.x[:port]``, ``localhost[:port]`` or ``[::1][:port]``."""
    host = registry.rsplit(":", 1)[0] if registry.count(":") == 1 else registry
    if registry.startswith("[") and "]" in registry:
        host = registry[: registry.index("]") + 1]
    return host.startswith("127.") or host in LOOPBACK_HOSTS


def pull_allowed(reference: str) -> bool:
    """A loopback registry always; any other only with SHIPWRIGHT_ALLOW_PULL=1."""
    return is_loopback(registry_of(reference)) or os.environ.get(ALLOW_PULL, "") == "1"


def ensure_image(client: Any, runner: Runner, reference: str, what: str) -> bool:
    """Make sure the engine has ``reference``; True if it was pulled. Raises ConfigError
    (exit 2, nothing changed) when it is missing and may not be pulled."""
    if client is not None and image_exists(client, reference):
        return False
    if not pull_allowed(reference):
        raise ConfigError(
            f"the {what} image {reference} is not on the local Docker engine, and pulling "
            f"from {registry_of(reference)} is off on this machine: run `invoke local.prepare` "
            f"(it builds local stand-ins), or set {ALLOW_PULL}=1 to let Docker pull it"
        )
    runner.api(f"docker pull {reference}", pull, client, reference)
    return True


def pull(client: Any, reference: str) -> None:
    """Pull ``reference`` (``repo:tag``, ``repo@sha256:…`` or both) or say why not."""
    ref = ImageRef.parse(reference)
    try:  # the engine takes a digest as the tag too
        client.api.pull(ref.repository, tag=ref.digest or ref.tag or "latest")
    except Exception as exc:  # noqa: BLE001 - APIError, connection errors
        raise ShipwrightError(f"docker pull {reference} failed: {short(exc)}") from None
    if not image_exists(client, reference):
        raise ShipwrightError(f"docker pull {reference} did not leave the image on the engine")
