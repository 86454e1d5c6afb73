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
from shipwright.image.reference import ImageRef
from shipwright.runner import Runner
from shipwright.targets.compose_hosts import commands as cmd
from shipwright.targets.compose_hosts import hostkeys
from shipwright.targets.compose_hosts.config import ComposeConfig, HostAddress
from shipwright.targets.compose_hosts.shell import RemoteShell

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

    def holds(self, release: Release) -> bool:
        """This slot's container was made from ``release``'s image (same digest)."""
        return self.release is not None and same_image(self.release.image, release.image)


def same_image(a: str, b: str) -> bool:
    """Two references name the same image: equal digests (or equal text without one)."""
    da, db = ImageRef.parse(a).digest, ImageRef.parse(b).digest
    return da == db if da and db else a == b


@dataclass
class HostState:
    """One host as read by :func:`commands.read_state`."""

    active: str | None = None
    slots: dict[str, SlotState] = field(default_factory=dict)
    nginx_running: bool = False
    root: str | None = None  # the host's state directory, as its shell expanded it
    warm_slot: str | None = None  # the colour that left traffic, kept warm …
    warm_until: int = 0  # … until then (the host's clock, epoch seconds)
    now: int = 0  # the host's clock when the state was read

    @property
    def serving(self) -> Release | None:
        slot = self.slots.get(self.active or "")
        return slot.release if slot and slot.status == "running" else None

    @property
    def idle(self) -> SlotState | None:
        """The slot out of traffic, when something serves."""
        return self.slots.get(cmd.other_slot(self.active)) if self.active else None

    @property
    def warm_seconds(self) -> int:
        """How long the idle colour stays warm (0: not warm, or not running)."""
        idle = self.idle
        if idle is None or idle.status != "running" or self.warm_slot != idle.slot:
            return 0
        return max(0, self.warm_until - self.now)

    def to_dict(self) -> dict[str, Any]:
        return {
            "active_slot": self.active,
            "nginx": "running" if self.nginx_running else "stopped",
            "version": self.serving.version if self.serving else None,
            "warm_until": self.warm_until if self.warm_seconds else None,  # host clock
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
        key, _, value = line.partition("=")
        if key == "root" and value:
            state.root = value.strip()
        elif key == "active":
            state.active = value.strip() or None
        elif key == "warm":
            slot, _, until = value.strip().partition(" ")
            state.warm_slot = slot or None
            state.warm_until = int(until) if until.strip().isdigit() else 0
        elif key == "now" and value.strip().isdigit():
            state.now = int(value)
        elif key == "nginx":
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
    """One host: its connection (one for the whole run), its layout, and its facts."""

    def __init__(
        self, address: HostAddress, config: ComposeConfig, runner: Runner, connection=None
    ):
        self.address, self.config, self.runner = address, config, runner
        self._connection = connection
        self._shell: RemoteShell | None = None
        self._root: str | None = config.host_root
        #: The state read under the deploy lock, for the rollout to start from.
        self.known: HostState | None = None

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

    @property
    def shell(self) -> RemoteShell:
        """The host's one shell for the whole run (on the connection, reopened with it)."""
        conn = self.connection
        if self._shell is None or self._shell.connection is not conn:
            self._shell = RemoteShell(conn, probe_after=self.config.connect_timeout)
        return self._shell

    def open(self) -> None:
        """Connect and start the shell now (a run opens every host's at once, up front)."""
        self.shell.start()

    def run(self, command: str, **kwargs: Any):
        kwargs.setdefault("timeout", self.config.command_timeout)
        return self.runner.remote(self.shell, command, **kwargs)

    def read(self, command: str, **kwargs: Any):
        """A read-only command: runs in dry-run mode too, quietly."""
        kwargs.setdefault("quiet", True)
        kwargs.setdefault("timeout", self.config.command_timeout)
        return self.runner.remote(self.shell, command, changes=False, **kwargs)

    def put_secret(self, content: str, remote_path: str) -> None:
        """``content`` into a 0600 file at ``remote_path`` (a path of :attr:`layout`)."""
        root = self.root()
        if remote_path.startswith(cmd.ROOT_EXPR):
            remote_path = root + remote_path[len(cmd.ROOT_EXPR) :]
        self.runner.put_secret_file(self.connection, content, remote_path)

    def root(self) -> str:
        """The host's state directory (asked once, unless the facts said it already)."""
        if self._root is None:
            self._root = self.read(cmd.resolve_root()).stdout.strip() or cmd.DEFAULT_ROOT
        return self._root

    @property
    def layout(self) -> cmd.Layout:
        """Where things live; until the root is known its paths are ``$SHIPWRIGHT_HOST_ROOT``
        expressions the host's shell expands (no round trip just to ask)."""
        return cmd.Layout(self._root or cmd.ROOT_EXPR, self.config.app_name)

    def state(self) -> HostState:
        state = parse_state(self.read(cmd.read_state(self.layout)).stdout)
        if state.root and self._root is None:
            self._root = state.root
        return state

    def close(self) -> None:
        if self._shell is not None:
            self._shell.close()
            self._shell = None
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
