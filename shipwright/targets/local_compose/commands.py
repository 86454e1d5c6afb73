"""The local stack's Compose invocations, built as data: argv, environment, override file.

Why as data: ``plan()`` (``--dry-run``) prints exactly what ``deploy()`` runs, and tests
read the pieces without an engine. The stack is the project's own ``docker-compose.yml``
(backend + redis; mongodb when MONGO_URI points at this machine), so a laptop runs the
same services as any Docker host. What a release changes -- the backend's image and the
labels saying which release it is -- goes into a small generated override file (the
second ``-f``), because the committed compose file must not change per release and
labels cannot be set from the command line.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from shipwright.compose import local
from shipwright.domain import Release
from shipwright.settings import Settings
from shipwright.targets.local_compose.images import is_loopback

SERVICE = "backend"
COMPOSE_FILE = local.DEFAULT_FILE
LABEL = "io.shipwright"  # io.shipwright.version / .image / .release (the Release as JSON)
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
        """Lock, ledger and override file live in the state directory's ``local/``."""
        return cls(settings, settings.state_dir / "local")

    # -- names ------------------------------------------------------------------------
    @property
    def project(self) -> str:
        return local.project_name(self.settings, COMPOSE_FILE)

    @property
    def file(self) -> Path:
        return self.settings.root / COMPOSE_FILE

    @property
    def override(self) -> Path:
        return self.state_dir / f"{self.project}.release.yml"

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
    def base(self, compose: Sequence[str], *, release_file: bool | None = None) -> list[str]:
        """``docker compose -f FILE [-f OVERRIDE] -p PROJECT [--profile …]``; the override
        is named when it exists (or when ``release_file`` says so)."""
        argv = [*compose, "-f", str(self.file)]
        if release_file or (release_file is None and self.override.is_file()):
            argv += ["-f", str(self.override)]
        argv += ["-p", self.project]
        for profile in self.profiles:
            argv += ["--profile", profile]
        return argv

    def up(self, compose: Sequence[str]) -> list[str]:
        """Start (or recreate) the backend and whatever it depends on, and wait until
        every one of them is healthy. Only a service whose configuration changed is
        recreated: a new release replaces the backend, redis keeps running."""
        wait = ["--wait", "--wait-timeout", str(self.ready_timeout)]
        return [*self.base(compose, release_file=True), "up", "--detach", *wait, SERVICE]

    def remove_backend(self, compose: Sequence[str]) -> list[str]:
        return [*self.base(compose), "rm", "--stop", "--force", SERVICE]

    def ps(self, compose: Sequence[str]) -> list[str]:
        return [*self.base(compose), "ps", "--all", "--format", "json"]

    def logs(
        self,
        compose: Sequence[str],
        *,
        follow: bool = False,
        since: str | None = None,
        tail: int | None = None,
        services: Sequence[str] = (SERVICE,),
    ) -> list[str]:
        argv = [*self.base(compose), "logs", "--no-color", "--timestamps"]
        argv += ["--follow"] if follow else []
        argv += ["--since", since] if since else []
        argv += ["--tail", str(tail)] if tail is not None else []
        return [*argv, *services]

    def down(self, compose: Sequence[str], *, volumes: bool = False) -> list[str]:
        argv = [*self.base(compose), "--profile", "*", "down", "--remove-orphans"]
        return [*argv, "--timeout", "20", *(["--volumes"] if volumes else [])]


def override_file(release: Release) -> str:
    """The per-release compose override: the backend's image and its release labels.
    JSON is YAML; ``$`` is doubled so compose does not interpolate it."""
    labels = {
        f"{LABEL}.version": release.version,
        f"{LABEL}.image": release.image,
        f"{LABEL}.environment": release.environment,
        f"{LABEL}.release": json.dumps(release.to_dict(), sort_keys=True),
    }
    data = {"services": {SERVICE: {"image": release.image, "labels": labels}}}
    return json.dumps(data, indent=2, sort_keys=True).replace("$", "$$") + "\n"


def release_from_labels(labels: dict[str, str], image: str, environment: str) -> Release:
    """The Release a container says it runs; one started outside this target (no labels)
    is described by its image's version label, else ``unknown``."""
    raw = labels.get(f"{LABEL}.release")
    if raw:
        try:
            return Release.from_dict(json.loads(raw))
        except (ValueError, TypeError):
            pass
    version = (
        labels.get(f"{LABEL}.version")
        or labels.get("org.opencontainers.image.version")
        or "unknown"
    )
    return Release(environment, version, labels.get(f"{LABEL}.image") or image)
