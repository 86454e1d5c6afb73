"""The Compose-hosts target's settings, read once from the environment's settings.

Why a dataclass: the switcher and orchestrator get plain values (easy to build in
tests), and every problem with the host settings is reported before anything runs.
Keys beyond the schema (DEPLOY_PROXY_PORT, …) are optional with safe defaults.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shipwright.errors import ConfigError
from shipwright.settings import Settings


@dataclass(frozen=True)
class HostAddress:
    host: str
    port: int = 22

    @property
    def name(self) -> str:
        return self.host if self.port == 22 else f"{self.host}:{self.port}"

    @classmethod
    def parse(cls, text: str) -> HostAddress:
        text = text.strip()
        if "@" in text:
            raise ConfigError(f"DEPLOY_HOSTS entry {text!r}: set the user with SSH_USER")
        host, sep, port = text.rpartition(":") if text.count(":") == 1 else (text, "", "")
        if not sep:
            return cls(text)
        if not port.isdigit() or not 0 < int(port) < 65536:
            raise ConfigError(f"DEPLOY_HOSTS entry {text!r}: bad port {port!r}")
        return cls(host, int(port))


@dataclass(frozen=True)
class ComposeConfig:
    environment: str
    hosts: tuple[HostAddress, ...]
    user: str = "deploy"
    key_file: str | None = None
    batch_size: int = 1
    app_name: str = "learinal-backend"
    port: int = 3000  # blue listens on port, green on port + 1
    proxy_port: int = 80  # where each host's nginx listens
    proxy_bind: str = ""  # the one address it listens on ("": every address)
    health_paths: tuple[str, ...] = ("/health", "/livez", "/readyz")
    ready_path: str = "/readyz"
    ready_timeout: float = 60.0
    drain_seconds: int = 30
    #: How long the colour that left traffic keeps running (the specification's 30
    #: minutes of monitoring, or the watch window when that is longer).
    keep_warm: int = 1800
    keep_images: int = 3
    host_root: str | None = None  # None: $SHIPWRIGHT_HOST_ROOT on the host, or the default
    pull_registry: str | None = None  # the registry as the hosts reach it, if different
    pull_images: bool = True  # False: the engine has the image already (the local default)
    connect_timeout: float = 10.0  # also how long opening a channel on a dead host may take
    command_timeout: float = 600.0  # any one remote command (a pull of a big image included)
    registry_user: str | None = None
    registry_password: str | None = None
    host_key_checking: str = "strict"  # or accept-new (shipwright.targets.compose_hosts.hostkeys)
    known_hosts: str | None = None  # None: ~/.ssh/known_hosts
    host_keys: str | None = None  # pinned known_hosts lines, ";"-separated
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> ComposeConfig:
        hosts = tuple(HostAddress.parse(h) for h in settings.items_list("DEPLOY_HOSTS"))
        if not hosts and "hosts" not in overrides:
            raise ConfigError(
                f"DEPLOY_HOSTS is empty for {settings.environment!r}: name the SSH hosts "
                "(host or host:port, comma-separated)"
            )

        def number(key: str, default: float) -> float:
            raw = settings.get(key)
            try:
                return float(raw) if raw is not None else default
            except ValueError:
                raise ConfigError(f"{key} must be a number, not {raw!r}") from None

        values: dict[str, Any] = dict(
            environment=settings.environment,
            hosts=hosts,
            user=settings.get("SSH_USER", "deploy"),
            key_file=settings.get("SSH_KEY_FILE"),
            batch_size=int(number("DEPLOY_BATCH_SIZE", 1)),
            app_name=settings.get("APP_NAME", "learinal-backend"),
            port=int(number("PORT", 3000)),
            proxy_port=int(number("DEPLOY_PROXY_PORT", 80)),
            health_paths=tuple(settings.items_list("HEALTH_PATHS")) or cls.health_paths,
            ready_timeout=number("DEPLOY_READY_TIMEOUT", 60),
            drain_seconds=int(number("DEPLOY_DRAIN_SECONDS", 30)),
            keep_warm=int(max(number("DEPLOY_KEEP_WARM", 1800), number("WATCH_SECONDS", 300))),
            keep_images=int(number("DEPLOY_KEEP_IMAGES", 3)),
            host_root=settings.get("DEPLOY_HOST_ROOT"),
            pull_registry=settings.get("DEPLOY_PULL_REGISTRY"),
            connect_timeout=number("DEPLOY_CONNECT_TIMEOUT", 10),
            command_timeout=number("DEPLOY_COMMAND_TIMEOUT", 600),
            registry_user=settings.get("DOCKER_USERNAME"),
            registry_password=settings.get("DOCKER_PASSWORD"),
            host_key_checking=settings.get("SSH_HOST_KEY_CHECKING", "strict"),
            known_hosts=settings.get("SSH_KNOWN_HOSTS"),
            host_keys=settings.get("SSH_HOST_KEYS"),
        )
        values.update(overrides)
        config = cls(**values)
        config.check()
        return config

    def check(self) -> None:
        problems = []
        if self.batch_size < 1:
            problems.append("DEPLOY_BATCH_SIZE must be at least 1")
        if not 0 < self.port < 65535:
            problems.append(f"PORT {self.port} leaves no room for the green slot (PORT + 1)")
        if self.proxy_port in (self.port, self.port + 1):
            problems.append(
                f"DEPLOY_PROXY_PORT {self.proxy_port} collides with the slot ports "
                f"{self.port} and {self.port + 1}"
            )
        if self.keep_warm < 0:
            problems.append("DEPLOY_KEEP_WARM must not be negative")
        if self.host_root is not None and not self.host_root.startswith("/"):
            problems.append(f"DEPLOY_HOST_ROOT must be an absolute path, not {self.host_root!r}")
        if problems:
            raise ConfigError(
                "the Compose-hosts settings are invalid:\n  ✘ " + "\n  ✘ ".join(problems)
            )
