"""The local stack's Compose invocations, built as data: argv and environment.

Why as data: ``plan()`` (``--dry-run``) prints exactly what ``deploy()`` runs, and tests
read the pieces without an engine. The stack is the project's own ``docker-compose.yml``:
its backend's dependencies (redis; mongodb when MONGO_URI points at this machine) run
from it, so a laptop runs the same services as any Docker host; the backend itself is
released blue-green, as on the Compose hosts (see ``target``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from shipwright.compose import local
from shipwright.settings import Settings
from shipwright.targets.compose_hosts import commands as hosts_cmd
from shipwright.targets.compose_hosts import nginx
from shipwright.targets.local_compose.images import is_loopback

SERVICE = "backend"  # the compose file's own backend service: not run by this target
COMPOSE_FILE = local.DEFAULT_FILE
#: Used when neither the settings nor the process environment say otherwise: the dev
#: backend binds loopback only (a laptop's network must not reach it), and health is
#: probed every 2 s so ``up --wait`` returns soon after the app answers (not 10 s).
DEFAULTS = {"BACKEND_HOST": "127.0.0.1", "HEALTHCHECK_INTERVAL": "2s"}
THIRD_PARTY = {"redis": ("REDIS_IMAGE", "redis:7-alpine"), "mongodb": ("MONGO_IMAGE", "mongo:7")}


def mongo_is_local(uri: str | None) -> bool:
    """True when every host of a ``mongodb://`` URI is this machine: the stack must run
    MongoDB itself (profile ``mongodb``). ``mongodb+srv://`` is never local."""
    if not uri or not uri.startswith("mongodb://"):
        return False
    authority = uri[len("mongodb://") :].split("/", 1)[0].split("?", 1)[0]
    hosts = authority.rsplit("@", 1)[-1].split(",")
    return any(hosts) and all(is_loopback(h) for h in hosts if h)


@dataclass
class Stack:
    """One environment's local stack: which files, project, profiles and variables."""

    settings: Settings
    state_dir: Path

    @classmethod
    def for_settings(cls, settings: Settings) -> Stack:
        """Lock, ledger, nginx and the colours' env files live in the state directory's
        ``local/``."""
        return cls(settings, settings.state_dir / "local")

    # -- names ------------------------------------------------------------------------
    @property
    def project(self) -> str:
        return local.project_name(self.settings, COMPOSE_FILE)

    @property
    def file(self) -> Path:
        return self.settings.root / COMPOSE_FILE

    @property
    def env_file(self) -> Path:
        return local.env_file_path(self.settings, COMPOSE_FILE)

    @property
    def profiles(self) -> tuple[str, ...]:
        return ("mongodb",) if mongo_is_local(self.settings.get("MONGO_URI")) else ()

    @property
    def port(self) -> str:
        return self.settings.get("PORT") or "3000"

    @property
    def ready_timeout(self) -> int:
        return max(5, int(float(self.settings.get("DEPLOY_READY_TIMEOUT") or 60)))

    # -- what compose sees ------------------------------------------------------------
    def environment(self) -> dict[str, str]:
        """Compose's own variables (for ``${VAR}`` in the files): non-secret settings,
        the env file's path and the local defaults. Secrets reach the backend only
        through the 0600 env file, never compose's environment or its command line."""
        settings = self.settings
        env = {k: v for k, v in settings.values.items() if v and not settings.is_secret(k)}
        for key, value in DEFAULTS.items():
            if key not in env and not os.environ.get(key):
                env[key] = value
        env[local.ENV_FILE_VARIABLE] = str(self.env_file)
        return env

    def value(self, key: str, default: str) -> str:
        """A variable as compose resolves it: settings, else process env, else default."""
        return self.environment().get(key) or os.environ.get(key) or default

    def third_party_images(self) -> dict[str, str]:
        """service -> image for the stack's other services that will start."""
        services = ["redis", *self.profiles]
        return {s: self.value(*THIRD_PARTY[s]) for s in services if s in THIRD_PARTY}

    # -- argv -------------------------------------------------------------------------
    def base(self, compose: Sequence[str]) -> list[str]:
        """``docker compose -f FILE -p PROJECT [--profile …]``."""
        argv = [*compose, "-f", str(self.file), "-p", self.project]
        for profile in self.profiles:
            argv += ["--profile", profile]
        return argv

    @property
    def dependencies(self) -> list[str]:
        """The services the backend needs here: redis, and mongodb when it is local."""
        return ["redis", *self.profiles]

    def up_dependencies(self, compose: Sequence[str]) -> list[str]:
        """Start the dependencies and wait until every one is healthy (running ones stay)."""
        wait = ["--wait", "--wait-timeout", str(self.ready_timeout)]
        return [*self.base(compose), "up", "--detach", *wait, *self.dependencies]

    def remove_backend(self, compose: Sequence[str]) -> list[str]:
        return [*self.base(compose), "rm", "--stop", "--force", SERVICE]

    def down(self, compose: Sequence[str], *, volumes: bool = False) -> list[str]:
        argv = [*self.base(compose), "--profile", "*", "down", "--remove-orphans"]
        return [*argv, "--timeout", "20", *(["--volumes"] if volumes else [])]


def remove_colours(layout: hosts_cmd.Layout, timeout: int = 10) -> str:
    """Both colours' containers removed (SIGTERM first) and nginx for them stopped (found
    by its config path when its pid file is gone)."""
    removes = "; ".join(hosts_cmd.remove_container(layout, s, timeout) for s in hosts_cmd.SLOTS)
    return (
        f"{removes}; m=$({nginx.master_pid(layout)}); "
        '[ -n "$m" ] && kill -QUIT "$m" 2>/dev/null; true'
    )
