"""The repository's apprunner.yaml (App Runner's configuration file for source-code
services, version 1.0), validated before App Runner is asked to build from it.

Checked: the schema version, the runtime, the build and run commands, the port, the
env names -- and that no secret value is in it: a variable the schema marks secret, or
any value equal to a secret the settings hold, is refused with its place in the file
(never its value). Secrets belong in ``run.secrets`` as ``value-from`` ARNs.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from shipwright.aws.variables import ARN
from shipwright.errors import ConfigError
from shipwright.settings import Settings

RUNTIMES = frozenset(
    {
        "python3",
        "python311",
        "nodejs12",
        "nodejs14",
        "nodejs16",
        "nodejs18",
        "nodejs22",
        "corretto8",
        "corretto11",
        "dotnet6",
        "php81",
        "ruby31",
        "go1",
    }
)
TOP = frozenset({"version", "runtime", "build", "run"})
PHASES = ("pre-build", "build", "post-build")
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def load(path: Path, settings: Settings) -> dict[str, Any]:
    """The file, validated; a ConfigError listing every problem (exit 2)."""
    shown = f"{path} (APPRUNNER_CONFIG, set by {settings.sources.get('APPRUNNER_CONFIG')})"
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"the App Runner configuration file is missing: {shown}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{shown} is not YAML: {exc}") from None
    problems = problems_in(data, settings)
    if problems:
        raise ConfigError(f"{shown} is not valid:\n  " + "\n  ".join(problems))
    return data


def problems_in(data: Any, settings: Settings) -> list[str]:
    if not isinstance(data, dict):
        return ["the file must be a mapping (version, runtime, build, run)"]
    problems = [f"{key}: not a key of the version 1.0 file" for key in set(data) - TOP]
    if str(data.get("version")) not in ("1.0", "1"):
        problems.append(f"version: must be 1.0, not {data.get('version')!r}")
    if data.get("runtime") not in RUNTIMES:
        problems.append(
            f"runtime: {data.get('runtime')!r} is not an App Runner runtime "
            f"({', '.join(sorted(RUNTIMES))})"
        )
    build = data.get("build") or {}
    commands = build.get("commands") if isinstance(build, dict) else None
    if not isinstance(commands, dict) or not commands.get("build"):
        problems.append("build.commands.build: at least one build command is needed")
    else:
        for phase in PHASES:
            if phase in commands and not _strings(commands[phase]):
                problems.append(f"build.commands.{phase}: must be a list of commands")
    run = data.get("run") if isinstance(data.get("run"), dict) else {}
    if not isinstance(run.get("command"), str) or not run.get("command", "").strip():
        problems.append("run.command: the command that starts the app is needed")
    port = (run.get("network") or {}).get("port")
    if not (isinstance(port, int) and 1 <= port <= 65535):
        problems.append(f"run.network.port: must be a port number (1-65535), not {port!r}")
    for where, section in (("build.env", build.get("env")), ("run.env", run.get("env"))):
        problems += _env(where, section, settings)
    problems += _secrets(run.get("secrets"))
    return problems


def _strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) and v.strip() for v in value)


def _env(where: str, section: Any, settings: Settings) -> list[str]:
    if section is None:
        return []
    if not isinstance(section, list):
        return [f"{where}: must be a list of name/value pairs"]
    problems, seen = [], set()
    secret_values = set(settings.secret_values())
    for i, item in enumerate(section):
        name = item.get("name") if isinstance(item, dict) else None
        if not isinstance(name, str) or not NAME.fullmatch(name):
            problems.append(f"{where}[{i}].name: {name!r} is not a variable name")
            continue
        if name in seen:
            problems.append(f"{where}[{i}]: {name} is set twice")
        seen.add(name)
        value = item.get("value")
        if not isinstance(value, str | int | float | bool):
            problems.append(f"{where}[{i}] ({name}): needs a value")
        elif settings.is_secret(name) or str(value) in secret_values:
            problems.append(
                f"{where}[{i}] ({name}): a secret value must not be in the file; "
                "reference it under run.secrets with value-from: <Secrets Manager or SSM ARN>"
            )
    return problems


def _secrets(section: Any) -> list[str]:
    if section is None:
        return []
    if not isinstance(section, list):
        return ["run.secrets: must be a list of name/value-from pairs"]
    problems = []
    for i, item in enumerate(section):
        item = item if isinstance(item, dict) else {}
        if not NAME.fullmatch(str(item.get("name", ""))):
            problems.append(f"run.secrets[{i}].name: {item.get('name')!r} is not a variable name")
        if not re.fullmatch(ARN, str(item.get("value-from", ""))):
            problems.append(f"run.secrets[{i}].value-from: must be a Secrets Manager or SSM ARN")
    return problems
