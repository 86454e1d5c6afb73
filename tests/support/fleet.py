"""A fleet of real SSH hosts (support.sandbox) with the sample app's images pushed.

Why a module (not only fixtures): benchmarks/compose_deploy.py builds the same fleet.
Images come from the local Node base with an inline Dockerfile running app/src, so the
tests depend on neither the image module nor a public registry: v1, v2 (same code,
another image) and "unhealthy" (APP_UNHEALTHY=1 baked into the image's environment).
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shipwright import PROJECT_ROOT
from shipwright.checks.prober import Prober
from shipwright.domain import Release
from shipwright.errors import ShipwrightError
from shipwright.flow import commands
from shipwright.ledger import Entry, Ledger
from shipwright.lock import LockInfo
from shipwright.runner import Result, Runner
from shipwright.settings import Settings, load_settings
from shipwright.targets.compose_hosts.target import ComposeHostsTarget

APP_NAME = "swtest"
PROXY_PORT = 8080
ENVIRONMENT = "test"
DOCKERFILE = """\
FROM {base}
COPY src /app/src
WORKDIR /app
ENV NODE_ENV=production
ENTRYPOINT ["dumb-init", "--"]
CMD ["node", "src/server.js"]
"""


def missing_components() -> list[str]:
    """What this machine lacks for the real-component tests (empty: all there)."""
    missing = [
        b
        for b in ("dockerd", "sshd", "nginx", "docker-registry", "ip", "curl")
        if not shutil.which(b) and not os.path.exists(f"/usr/sbin/{b}")
    ]
    if os.geteuid() != 0:
        missing.append("root (network namespaces)")
    return missing


def build_images(client: Any, push_addr: str, base: str) -> dict[str, str]:
    """Build and push v1, v2 and unhealthy; returns version -> repo:tag@sha256:…"""
    repo = f"{push_addr}/{APP_NAME}"
    with tempfile.TemporaryDirectory() as ctx:
        shutil.copytree(PROJECT_ROOT / "app" / "src", Path(ctx) / "src")
        (Path(ctx) / "Dockerfile").write_text(DOCKERFILE.format(base=base))
        client.images.build(path=ctx, tag=f"{repo}:v1", rm=True)
    derived = {"v2": "LABEL io.shipwright.test=v2", "unhealthy": "ENV APP_UNHEALTHY=1"}
    for tag, line in derived.items():
        text = f"FROM {repo}:v1\n{line}\n".encode()
        client.images.build(fileobj=io.BytesIO(text), tag=f"{repo}:{tag}", rm=True)
    refs = {}
    for tag in ("v1", *derived):
        for line in client.images.push(repo, tag=tag, stream=True, decode=True):
            if "error" in line:
                raise RuntimeError(f"push {repo}:{tag}: {line['error']}")
        digests = client.api.inspect_image(f"{repo}:{tag}")["RepoDigests"]
        digest = next(d for d in digests if d.startswith(repo + "@")).split("@", 1)[1]
        refs[tag] = f"{repo}:{tag}@{digest}"
    return refs


class CapturingRunner(Runner):
    """The real Runner, recording every remote command and secret upload it sends."""

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self.commands: list[str] = []
        self.uploads: list[tuple[str, str]] = []

    def remote(self, connection: Any, cmd: Any, **kwargs: Any) -> Result:
        self.commands.append(cmd if isinstance(cmd, str) else " ".join(cmd))
        return super().remote(connection, cmd, **kwargs)

    def put_secret_file(self, connection: Any, content: str, remote_path: str) -> None:
        self.uploads.append((remote_path, content))
        super().put_secret_file(connection, content, remote_path)


@dataclass
class Fleet:
    hosts: Any  # support.sandbox.SshHosts
    images: dict[str, str]
    extra: dict[str, str] = field(default_factory=dict)
    runner: CapturingRunner = field(default_factory=CapturingRunner)

    def settings(self, **extra: str) -> Settings:
        return load_settings(ENVIRONMENT, overrides=self.overrides(**extra), environ={})

    def overrides(self, **extra: str) -> dict[str, str]:
        """The --set values that point the test environment at this fleet."""
        values = {
            "DEPLOY_HOSTS": ",".join(f"{h.address}:{h.port}" for h in self.hosts.hosts),
            "SSH_USER": self.hosts.user,
            "SSH_KEY_FILE": self.hosts.key_file,
            "SSH_KNOWN_HOSTS": self.hosts.known_hosts,
            "DEPLOY_BATCH_SIZE": "3",
            "APP_NAME": APP_NAME,
            "DEPLOY_PROXY_PORT": str(PROXY_PORT),
            "DEPLOY_PULL_REGISTRY": self.hosts.registry_addr,
            "DEPLOY_READY_TIMEOUT": "5",
            "DEPLOY_DRAIN_SECONDS": "5",
            "DEPLOY_CONNECT_TIMEOUT": "3",
            "MONGO_URI": "",
            "REDIS_URI": "",
        }
        values.update(self.extra)
        values.update(extra)
        return values

    def release(self, version: str) -> Release:
        return Release(ENVIRONMENT, version, self.images[version], git_sha="0123456789abcdef")

    def deploy(
        self, version: str | Release, *, hook=None, flags: dict | None = None, **extra: str
    ) -> tuple[int, Any]:
        """(exit code, flow result or error) of ``invoke deploy --no-gates --no-watch``,
        as the task runs it (``hook`` injects faults into the rollout)."""
        release = version if isinstance(version, Release) else self.release(version)
        settings = self.settings(**extra)
        options = {"reason": "test", "gates": False, "watch": False, **(flags or {})}
        target = ComposeHostsTarget(settings, self.runner, hook=hook)
        return self._exit(
            lambda: commands.deploy(
                settings, self.runner, release=release, target=target, **options
            )
        )

    def rollback(
        self, to: str | None = None, *, hook=None, flags: dict | None = None, **extra: str
    ) -> tuple[int, Any]:
        settings = self.settings(**extra)
        options = {"reason": "test", **(flags or {})}
        target = ComposeHostsTarget(settings, self.runner, hook=hook)
        return self._exit(
            lambda: commands.rollback(settings, self.runner, to=to, target=target, **options)
        )

    @staticmethod
    def _exit(call) -> tuple[int, Any]:
        try:
            return 0, call()
        except ShipwrightError as exc:
            return int(exc.exit_code), exc

    @contextlib.contextmanager
    def target(self, **extra: str) -> Iterator[ComposeHostsTarget]:
        target = ComposeHostsTarget(self.settings(**extra), Runner(echo=False))
        try:
            yield target
        finally:
            target.close()

    def serving(self) -> dict[str, str | None]:
        with self.target() as target:
            return {
                h: (s.get("version") if "error" not in s else "unreachable")
                for h, s in target.status().data.items()
            }

    def history(self) -> list[Entry]:
        with self.target() as target:
            return Ledger(target.ledger_store(), ENVIRONMENT).history(limit=None)

    def lock(self) -> LockInfo | None:
        with self.target() as target:
            return target.lock_store().read(ENVIRONMENT)

    def prober(self, rate: float = 40) -> Prober:
        urls = {h.name: f"http://{h.address}:{PROXY_PORT}/version" for h in self.hosts.hosts}
        return Prober(urls, rate=rate)

    def ensure(self, version: str) -> None:
        """Every host serves ``version`` (deploying it if not)."""
        if set(self.serving().values()) != {version}:
            code, report = self.deploy(version)
            assert code == 0, report


@contextlib.contextmanager
def fleet(n: int = 3, *, isolated: bool = True) -> Iterator[Fleet]:
    import docker

    from support.sandbox import SshHosts, ensure_engine, ensure_node_base

    engine = ensure_engine()
    client = docker.DockerClient(base_url=engine, timeout=300)
    try:
        base = ensure_node_base(client)
        with SshHosts(n, isolated=isolated) as hosts:
            yield Fleet(hosts, build_images(client, hosts.push_addr, base))
    finally:
        client.close()
