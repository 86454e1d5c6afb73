"""The local target: the development environment on this machine's Docker engine,
released the way the Compose hosts release -- this machine is the one host.

The backend runs as two colours (``<project>-blue`` on PORT+1, ``-green`` on PORT+2)
behind this machine's nginx on 127.0.0.1:PORT (what APP_URL names): a new release starts
in the idle colour, is proven ready on its own port, then nginx switches to it and the
old colour stays warm for the keep-warm period. So a redeploy drops no request, a bad
release never takes traffic (exit 1, nothing changed), and a rollback inside the
keep-warm period is an nginx switch. The code is the Compose hosts' (switcher, rollout,
commands), run through local commands (:mod:`.machine`) instead of an SSH shell.

The backend's dependencies (redis; mongodb when MONGO_URI points at this machine) are
the project's ``docker-compose.yml`` services, started once and left running. Images
are looked up first and pulled only from a loopback registry (or with
SHIPWRIGHT_ALLOW_PULL=1): the engine never reaches a public registry unasked.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from shipwright.compose import local
from shipwright.domain import Outcome, Plan, Release, Run, Status
from shipwright.errors import ConfigError
from shipwright.image.engine import docker_client
from shipwright.ledger import JsonLinesLedgerStore
from shipwright.lock import FileLockStore
from shipwright.output import say
from shipwright.runner import Runner
from shipwright.settings import Settings
from shipwright.targets.compose_hosts import nginx
from shipwright.targets.compose_hosts.config import ComposeConfig, HostAddress
from shipwright.targets.compose_hosts.target import ComposeHostsTarget
from shipwright.targets.local_compose import commands as cmd
from shipwright.targets.local_compose.images import ensure_image
from shipwright.targets.local_compose.machine import LocalHost

LOOPBACK = "127.0.0.1"


def local_config(settings: Settings, stack: cmd.Stack) -> ComposeConfig:
    """The Compose hosts' settings for this machine as the one host: nginx on
    127.0.0.1:PORT, the colours on PORT+1 and PORT+2, state under the state directory,
    images already on the engine (checked before, never pulled by the rollout)."""
    port = int(stack.port)
    return ComposeConfig.from_settings(
        settings,
        hosts=(HostAddress(LocalHost.name),),
        app_name=stack.project,
        port=port + 1,
        proxy_port=port,
        proxy_bind=LOOPBACK,
        ready_timeout=float(stack.ready_timeout),
        host_root=str(stack.state_dir.resolve()),
        pull_images=False,
        pull_registry=None,
        batch_size=1,
        registry_user=None,
        registry_password=None,
    )


class LocalComposeTarget(ComposeHostsTarget):
    name = "local"

    def __init__(self, settings: Settings, runner: Runner | None = None, *, client: Any = None):
        runner = runner or Runner()
        self.stack = cmd.Stack.for_settings(settings)
        config = local_config(settings, self.stack)
        host = LocalHost(config, runner, config.host_root or str(self.stack.state_dir))
        super().__init__(settings, runner, config=config, hosts=[host])
        self._client, self._own_client = client, client is None

    # -- storage for the flow -------------------------------------------------------------
    def lock_store(self) -> FileLockStore:
        return FileLockStore(self.stack.state_dir / "locks")

    def ledger_store(self) -> JsonLinesLedgerStore:
        return JsonLinesLedgerStore(self.stack.state_dir / "ledger")

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = docker_client()
        return self._client

    # -- Target protocol ------------------------------------------------------------------
    def plan(self, release: Release, action: str = "deploy") -> Plan:
        """The dependencies, then the Compose hosts' steps on this machine."""
        try:
            compose = local.compose_command(self.runner)
        except ConfigError:
            compose = ["docker", "compose"]
        others = ", ".join(f"{i} ({s})" for s, i in self.stack.third_party_images().items())
        plan = super().plan(release, action)
        plan.target = self.name
        plan.steps[:0] = [
            f"check the engine has {release.image} (backend), {others}; pull only from "
            "a loopback registry or with SHIPWRIGHT_ALLOW_PULL=1",
            "unless they run: " + " ".join(self.stack.up_dependencies(compose)),
        ]
        return plan

    def deploy(self, release: Release) -> Outcome:
        return self._after_dependencies(release, super().deploy)

    def rollback(self, to: Release) -> Outcome:
        return self._after_dependencies(to, super().rollback)

    def status(self) -> Status:
        """The colours (as on a Compose host), and the dependencies' state."""
        state = super().status()
        for service, container in self._dependencies().items():
            health = (container.attrs.get("State", {}).get("Health") or {}).get("Status")
            state.notes.append(
                f"{service}: {container.status}" + (f" ({health})" if health else "")
            )
        return state

    def prune(self, needed: Iterable[str]) -> None:
        """Stop the colour past its keep-warm time (its container stays); images on a
        developer's engine are theirs, none is removed."""
        for host in self.hosts:
            out = host.run(nginx.stop_cold(host.layout, self.config.drain_seconds), quiet=True)
            for line in out.stdout.splitlines():
                if line.startswith("stopped "):
                    say(f"– {line.split()[1]} stopped (its keep-warm time is over)")

    def run(
        self, release: Release, command: Sequence[str], env: Mapping[str, str] | None = None
    ) -> Run:
        """As on a Compose host, once the image is checked (it is never pulled there)."""
        client = None if self.runner.dry_run else self.client
        ensure_image(client, self.runner, release.image, "backend")
        return super().run(release, command, env)

    def close(self) -> None:
        super().close()
        if self._own_client and self._client is not None:
            self._client.close()
            self._client = None

    # -- internals ------------------------------------------------------------------------
    def _after_dependencies(self, release: Release, move) -> Outcome:
        """Images checked (nothing changes if one is missing) and the dependencies up,
        then the blue-green move; their time is the ``dependencies`` phase."""
        began = time.monotonic()
        client = None if self.runner.dry_run else self.client
        ensure_image(client, self.runner, release.image, "backend")
        for service, image in self.stack.third_party_images().items():
            ensure_image(client, self.runner, image, service)
        running = self._dependencies()
        wanted = ["redis", *self.stack.profiles]
        if not all(_healthy(running.get(s)) for s in wanted):
            self.runner.local(
                self.stack.up_dependencies(local.compose_command(self.runner)),
                env=self.stack.environment(),
                timeout=self.stack.ready_timeout + 180,
            )
        self._retire_compose_backend()
        took = time.monotonic() - began
        outcome = move(release)
        outcome.phases = {"dependencies": round(took, 3), **outcome.phases}
        return outcome

    def _dependencies(self) -> dict[str, Any]:
        """The stack's running dependency containers, by service."""
        if self.runner.dry_run and self._client is None:
            return {}
        found = self.client.containers.list(
            filters={"label": [f"com.docker.compose.project={self.stack.project}"]}
        )
        services = {c.labels.get("com.docker.compose.service"): c for c in found}
        return {s: c for s, c in services.items() if s and s != cmd.SERVICE}

    def _retire_compose_backend(self) -> None:
        """A backend the earlier local target ran as a compose service holds PORT, where
        nginx listens now: it is removed once (a stack from before blue-green)."""
        if self.runner.dry_run:
            return
        legacy = self.client.containers.list(
            all=True,
            filters={
                "label": [
                    f"com.docker.compose.project={self.stack.project}",
                    f"com.docker.compose.service={cmd.SERVICE}",
                ]
            },
        )
        if legacy:
            say("– removing the compose-run backend: the backend runs as blue/green now")
            self.runner.local(
                self.stack.remove_backend(local.compose_command(self.runner)),
                env=self.stack.environment(),
                check=False,
            )


def _healthy(container: Any) -> bool:
    if container is None or container.status != "running":
        return False
    health = (container.attrs.get("State", {}).get("Health") or {}).get("Status")
    return health in (None, "healthy")
