"""Real local components for the tests (never installed with the product).

Why: the project deploys with Docker, registries, nginx blue-green switches,
Redis, AWS and SSH hosts; its tests start the real things on this machine
(see shared/ENVIRONMENT.md) instead of mocks.  Each module is one component
with an idempotent start/stop (context manager) API; every process logs to a
file in its own work dir and every start error quotes that log's tail.

    engine      Engine: the Docker engine as a context manager (shipwright.machine.dockerd)
    registry    Registry: docker-registry on 127.0.0.1 (+ extra listeners, same storage)
    nginx       Nginx: own nginx instance with atomic switch_upstream()
    redis       Redis: redis-server without persistence
    mongowire   MongoEco: a MongoDB wire-protocol server (mongoeco, its own venv)
    moto        MotoServer: local AWS endpoint, env(), reset()
    sshhosts    SshHosts: N SSH hosts (netns + own dockerd each, or loopback)

No module sends traffic anywhere but 127.0.0.0/8 and namespaces it created.
"""

from shipwright.machine.dockerd import engine_answers, ensure_engine, stop_engine
from shipwright.machine.rootfs import (
    BUSYBOX_TAG,
    NODE_BASE_TAG,
    ensure_busybox_image,
    ensure_node_base,
)

from ._proc import SandboxError, free_port, free_ports, wait_until
from .engine import Engine
from .mongowire import MongoEco
from .moto import MotoServer
from .nginx import Nginx
from .redis import Redis
from .registry import Registry
from .sshhosts import SshHost, SshHosts, cleanup_stale

__all__ = [
    "SandboxError",
    "free_port",
    "free_ports",
    "wait_until",
    "ensure_engine",
    "engine_answers",
    "stop_engine",
    "Engine",
    "Registry",
    "ensure_node_base",
    "ensure_busybox_image",
    "NODE_BASE_TAG",
    "BUSYBOX_TAG",
    "Nginx",
    "Redis",
    "MotoServer",
    "MongoEco",
    "SshHost",
    "SshHosts",
    "cleanup_stale",
]
