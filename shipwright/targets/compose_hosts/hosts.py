"""SSH connections to the hosts, and what a host looks like right now.

Why separate: reading a host's state (which slot serves, which release each slot
holds) is read-only and shared by deploy, rollback, status and the lock/ledger
storage; the connection details (key-only auth, timeouts) live in one place.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from shipwright.domain import Release
from shipwright.errors import CommandError
from shipwright.runner import Runner
from shipwright.targets.compose_hosts import commands as cmd
from shipwright.targets.compose_hosts import hostkeys
from shipwright.targets.compose_hosts.config import ComposeConfig, HostAddress

T = TypeVar("T")


def connect(address: HostAddress, config: ComposeConfig) -> Any:
    """A Fabric connection with key-only auth (no agent, no password prompts) that trusts
    only the host keys the environment names (:mod:`.hostkeys`)."""
    from fabric import Config, Connection

    kwargs: dict[str, Any] = {"allow_agent": False, "look_for_keys": config.key_file is None}
    if config.key_file:
        kwargs["key_filename"] = config.key_file
    kwargs.update(banner_timeout=config.connect_timeout, auth_timeout=config.connect_timeout)
    fabric_config = Config(overrides={"run": {"in_stream": False}})
    connection = Connection(
        address.host,
        user=config.user,
        port=address.port,
        connect_timeout=config.connect_timeout,
        connect_kwargs=kwargs,
        config=fabric_config,
    )
    hostkeys.trust(
        connection.client,
        checking=config.host_key_checking,
        known_hosts=config.known_hosts,
        pinned=config.host_keys,
    )
    return connection


@dataclass
class SlotState:
    slot: str
    status: str = "missing"  # running, exited, created, missing …
    health: str = "none"  # docker HEALTHCHECK status when the image has one
    release: Release | None = None


@dataclass
class HostState:
    """One host as read by :func:`commands.read_state`."""

    active: str | None = None
    slots: dict[str, SlotState] = field(default_factory=dict)
    nginx_running: bool = False

    @property
    def serving(self) -> Release | None:
        slot = self.slots.get(self.active or "")
        return slot.release if slot and slot.status == "running" else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "active_slot": self.active,
            "nginx": "running" if self.nginx_running else "stopped",
            "version": self.serving.version if self.serving else None,
            "slots": {
                s.slot: {
                    "status": s.status,
                    "health": s.health,
                    "version": s.release.version if s.release else None,
                    "image": s.release.image if s.release else None,
                }
                for s in self.slots.values()
            },
        }


def parse_state(text: str) -> HostState:
    state = HostState()
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("active="):
            state.active = line.split("=", 1)[1].strip() or None
        elif line.startswith("nginx="):
            state.nginx_running = line.endswith("running")
        elif line.split("|", 1)[0] in cmd.SLOTS:
            slot, status, health, raw = (line.split("|", 3) + ["", "", ""])[:4]
            release = None
            if raw and raw != "<no value>":
                try:
                    release = Release.from_dict(json.loads(raw))
                except (ValueError, TypeError):
                    release = None
            state.slots[slot] = SlotState(slot, status or "missing", health or "none", release)
    if state.active not in cmd.SLOTS:
        state.active = None
    return state


class Host:
    """One host: its connection, its resolved layout, and read-only facts."""

    def __init__(
        self, address: HostAddress, config: ComposeConfig, runner: Runner, connection=None
    ):
        self.address, self.config, self.runner = address, config, runner
        self._connection = connection
        self._root: str | None = config.host_root

    @property
    def name(self) -> str:
        return self.address.name

    @property
    def connection(self) -> Any:
        """Open (or reopen) the connection with short channel timeouts and keepalives, so
        a host that dies mid-rollout fails its step instead of hanging it for an hour."""
        if self._connection is None:
            self._connection = connect(self.address, self.config)
        conn = self._connection
        if not conn.is_connected:
            try:
                conn.open()
            except Exception as exc:  # refused, timed out, auth failed, no route …
                rejected = hostkeys.explain(exc, self.name, self.config.known_hosts)
                if rejected is not None:
                    raise rejected from None
                raise CommandError(
                    "ssh connect", -1, f"{type(exc).__name__}: {exc}", self.name
                ) from None
            conn.transport.set_keepalive(5)
            conn.transport.channel_timeout = self.config.connect_timeout
        return conn

    def run(self, command: str, **kwargs: Any):
        kwargs.setdefault("timeout", self.config.command_timeout)
        return self.runner.remote(self.connection, command, **kwargs)

    def read(self, command: str, **kwargs: Any):
        """A read-only command: runs in dry-run mode too, quietly."""
        kwargs.setdefault("quiet", True)
        kwargs.setdefault("timeout", self.config.command_timeout)
        return self.runner.remote(self.connection, command, changes=False, **kwargs)

    @property
    def layout(self) -> cmd.Layout:
        if self._root is None:
            self._root = self.read(cmd.resolve_root()).stdout.strip() or cmd.DEFAULT_ROOT
        return cmd.Layout(self._root, self.config.app_name)

    def state(self) -> HostState:
        return parse_state(self.read(cmd.read_state(self.layout)).stdout)

    def close(self) -> None:
        if self._connection is not None:
            try:
                self._connection.close()
            except Exception:  # noqa: BLE001 - closing a dead connection may fail
                pass
            self._connection = None


def on_each(hosts: Sequence[Host], fn: Callable[[Host], T]) -> dict[str, T | Exception]:
    """``fn`` on every host at once: its result, or the exception it raised, per host."""
    if not hosts:
        return {}

    def call(host: Host) -> T | Exception:
        try:
            return fn(host)
        except Exception as exc:  # noqa: BLE001 - reported per host by the caller
            return exc

    with ThreadPoolExecutor(max_workers=len(hosts)) as pool:
        return dict(zip([h.name for h in hosts], pool.map(call, hosts), strict=True))


def hosts_for(
    config: ComposeConfig, runner: Runner, names: Sequence[str] | None = None
) -> list[Host]:
    wanted = set(names) if names else None
    return [Host(a, config, runner) for a in config.hosts if wanted is None or a.name in wanted]
