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

The overrides go into the state directory's ``prepared/.env.<env>`` (a file the tool
writes lives there, not in envs/), a settings layer between ``envs/.env.<env>`` and the
user's ``envs/.env.<env>.local``, so ``invoke deploy --env development`` by hand sees
the same images as ``nox -s ci`` -- and a test run, with its own state directory, none.

Pulling from a public registry happens only with SHIPWRIGHT_ALLOW_PULL=1
(:mod:`shipwright.targets.local_compose.images`): some machines must never try.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from shipwright.image.engine import image_exists
from shipwright.image.reference import registry_of
from shipwright.machine import dockerd, registry, rootfs
from shipwright.output import status
from shipwright.runner import Runner
from shipwright.settings import Settings
from shipwright.settings.envblock import write_block
from shipwright.targets.local_compose.commands import THIRD_PARTY, mongo_is_local
from shipwright.targets.local_compose.images import ALLOW_PULL, is_loopback, pull, pull_allowed

DEFAULT_BASE = "node:18-alpine"
#: Marks the block of prepared/.env.<env> that local.prepare owns (rewritten each run).
MARKS = (
    "# >>> written by `invoke local.prepare`: the local default's images (do not edit)",
    "# <<< local.prepare",
)


def prepare(settings: Settings, runner: Runner, *, persist: bool = True) -> dict[str, str]:
    """Make this machine ready for the local default; return the overrides (KEY -> value)
    and (``persist``) keep them in the state directory's prepared layer, so every task
    run by hand sees them too."""
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
        address = registry_of(settings["IMAGE_REPOSITORY"])
        if is_loopback(address):
            registry.ensure_registry(
                address,
                runner,
                can_run_image=lambda: _have_or_pull(client, runner, registry.IMAGE),
                run_image=lambda: registry.run_container(client, address),
            )
        else:
            status(None, f"registry {address} is not on this machine: nothing to start")
        overrides["BASE_IMAGE"] = _base_image(settings, runner, client)
        overrides["REDIS_IMAGE"] = _redis_image(settings, runner, client)
        overrides.update(_mongo(settings, runner, client))
    finally:
        if client is not None:
            client.close()
    if persist:
        kept = {k: v for k, v in overrides.items() if k != "DOCKER_HOST"}
        path = prepared_file(settings)
        runner.api(f"write {len(kept)} setting(s) to {path}", write_block, path, kept, MARKS)
    return overrides


def prepared_file(settings: Settings) -> Path:
    """The settings layer local.prepare keeps (settings.loader.prepared_file)."""
    return settings.state_dir / "prepared" / f".env.{settings.environment}"


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


# -- images -------------------------------------------------------------------------------
def _base_image(settings: Settings, runner: Runner, client: Any) -> str:
    """BASE_IMAGE when the engine has it (or may pull it), else the local Node base."""
    wanted = settings.get("BASE_IMAGE") or DEFAULT_BASE
    if _have_or_pull(client, runner, wanted):
        status(True, f"base image: {wanted}")
        return wanted
    tag = rootfs.NODE_BASE_TAG
    runner.api(
        f"ensure {tag} (built from this machine's node and npm)", rootfs.ensure_node_base, client
    )
    status(True, f"base image: {tag} (built here; {wanted} is not on this engine)")
    return tag


def _redis_image(settings: Settings, runner: Runner, client: Any) -> str:
    key, default = THIRD_PARTY["redis"]
    wanted = settings.get(key) or os.environ.get(key) or default
    if wanted != rootfs.REDIS_TAG and _have_or_pull(client, runner, wanted):
        status(True, f"redis image: {wanted}")
        return wanted
    tag = rootfs.REDIS_TAG
    runner.api(
        f"ensure {tag} (built from this machine's redis-server)", rootfs.ensure_redis_image, client
    )
    status(True, f"redis image: {tag} (built here; {default} is not on this engine)")
    return tag


def _mongo(settings: Settings, runner: Runner, client: Any) -> dict[str, str]:
    """MONGO_IMAGE when MongoDB runs in the stack, MONGO_URI='' when it cannot; an
    empty MONGO_URI that an earlier run wrote is decided again (not taken for the
    user's choice), so a second run keeps it instead of dropping it."""
    source = settings.sources.get("MONGO_URI")
    wrote = source is not None and source.file == prepared_file(settings)
    ours = wrote and not settings.get("MONGO_URI")
    if not (ours or mongo_is_local(settings.get("MONGO_URI"))):
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
