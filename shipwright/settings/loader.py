"""Layered environments: read, merge, expand, validate -- remembering where each value came from.

Lowest to highest: schema defaults < envs/.env < envs/.env.<env> < what local.prepare
found (<state>/prepared/.env.<env>) < envs/.env.<env>.local < the process environment
< ``--set KEY=VALUE``. Files are read with python-dotenv's
parser (no interpolation); ``${VAR}`` and ``${VAR:-default}`` are expanded once over
the merged map, so a file may refer to a key another layer set.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from dotenv.parser import parse_stream

from shipwright import PROJECT_ROOT
from shipwright.errors import ConfigError
from shipwright.redact import REDACTOR
from shipwright.settings.schema import BUILTIN_ENVIRONMENTS, schema_for
from shipwright.settings.settings import Problem, Settings, Source
from shipwright.state import VARIABLE as STATE_VARIABLE
from shipwright.state import state_dir

REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
ENV_NAME = re.compile(r"[a-z][a-z0-9_-]*")


def envs_dir(root: Path = PROJECT_ROOT) -> Path:
    return root / "envs"


def known_environments(root: Path = PROJECT_ROOT) -> list[str]:
    """The built-in environments plus every envs/.env.<name> that exists."""
    names = set(BUILTIN_ENVIRONMENTS)
    folder = envs_dir(root)
    if folder.is_dir():
        for path in folder.glob(".env.*"):
            name = path.name[len(".env.") :]
            if ENV_NAME.fullmatch(name) and name not in ("local", "example"):
                names.add(name)
    return sorted(names)


def layer_files(environment: str, root: Path = PROJECT_ROOT) -> list[Path]:
    folder = envs_dir(root)
    return [folder / ".env", folder / f".env.{environment}", folder / f".env.{environment}.local"]


def prepared_file(
    environment: str,
    root: Path,
    read: Mapping[Path, Mapping[str, _Entry]],
    environ: Mapping[str, str],
    overrides: Mapping[str, str],
) -> Path:
    """What ``invoke local.prepare`` found on this machine (images, an empty MONGO_URI):
    a layer the tool writes, so it lives in the state directory, never in envs/."""
    configured = overrides.get(STATE_VARIABLE) or environ.get(STATE_VARIABLE)
    for entries in read.values():
        if not configured and STATE_VARIABLE in entries:
            configured = entries[STATE_VARIABLE].value
    return state_dir(root, configured) / "prepared" / f".env.{environment}"


@dataclass
class _Entry:
    value: str
    source: Source
    expand: bool


def _read_file(path: Path, root: Path, problems: list[Problem]) -> dict[str, _Entry]:
    entries: dict[str, _Entry] = {}
    shown = _relative(path, root)
    with path.open(encoding="utf-8") as stream:
        for binding in parse_stream(stream):
            line = binding.original.line
            where = f"{shown}:{line}"
            if binding.error:
                text = binding.original.string.strip()
                problems.append(
                    Problem(where, f"malformed line (expected KEY=VALUE): {text[:60]!r}")
                )
                continue
            if binding.key is None:
                continue
            if binding.value is None:
                problems.append(
                    Problem(where, f"{binding.key} has no '=' (write {binding.key}= for empty)")
                )
                continue
            raw = binding.original.string.split("=", 1)[1].lstrip()
            entries[binding.key] = _Entry(
                binding.value, Source(shown, path, line), expand=not raw.startswith("'")
            )
    return entries


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def parse_assignments(pairs: Iterable[str]) -> dict[str, str]:
    """``--set KEY=VALUE`` flags as a dict; a pair without '=' is a ConfigError."""
    result: dict[str, str] = {}
    bad = []
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
            bad.append(Problem("--set", f"expected KEY=VALUE, got {key or pair!r}"))
        else:
            result[key] = value
    if bad:
        raise ConfigError(
            _report("the --set flags are invalid", bad),
        )
    return result


def _expand(entries: dict[str, _Entry], problems: list[Problem]) -> dict[str, str]:
    resolved: dict[str, str] = {}
    resolving: list[str] = []

    def resolve(key: str) -> str | None:
        if key in resolved:
            return resolved[key]
        entry = entries[key]
        if not entry.expand or "${" not in entry.value:
            resolved[key] = entry.value
            return entry.value
        if key in resolving:
            cycle = " -> ".join(resolving[resolving.index(key) :] + [key])
            problems.append(Problem(str(entry.source), f"reference cycle: {cycle}"))
            return None
        resolving.append(key)

        def substitute(match: re.Match[str]) -> str:
            name, default = match.group(1), match.group(2)
            if name in entries:
                value = resolve(name)
                if value is not None and (value != "" or default is None):
                    return value
                if value is None:
                    return ""
            if default is not None:
                return default
            problems.append(Problem(str(entry.source), f"{key} refers to undefined ${{{name}}}"))
            return ""

        value = REFERENCE.sub(substitute, entry.value)
        resolving.pop()
        resolved[key] = value
        return value

    for key in entries:
        resolve(key)
    return resolved


def _report(title: str, problems: list[Problem]) -> str:
    lines = [f"{title}: {len(problems)} problem(s)"]
    lines += [f"  ✘ {p}" for p in problems]
    return "\n".join(lines)


def load_settings(
    environment: str,
    *,
    root: Path = PROJECT_ROOT,
    overrides: Mapping[str, str] | None = None,
    environ: Mapping[str, str] | None = None,
    validate: bool = True,
) -> Settings:
    """Build the settings of ``environment``; raise ConfigError naming every problem."""
    known = known_environments(root)
    if environment not in known:
        raise ConfigError(
            f"unknown environment {environment!r}: known environments are {', '.join(known)}"
            f" (add envs/.env.{environment} to create one)"
        )
    environ = os.environ if environ is None else environ
    schema = schema_for(root)
    problems: list[Problem] = []
    entries: dict[str, _Entry] = {
        name: _Entry(var.default, Source("schema default"), expand=False)
        for name, var in schema.variables.items()
        if var.default is not None
    }
    files = layer_files(environment, root)
    read = {path: _read_file(path, root, problems) for path in files if path.is_file()}
    prepared = prepared_file(environment, root, read, environ, overrides or {})
    files.insert(2, prepared)  # above the committed files, below the user's .local
    if prepared.is_file():
        read[prepared] = _read_file(prepared, root, problems)
    for path in files:
        entries.update(read.get(path, {}))
    for key, value in environ.items():
        if key in schema.variables or key in entries:
            entries[key] = _Entry(value, Source("process environment"), expand=False)
    for key, value in (overrides or {}).items():
        entries[key] = _Entry(value, Source("--set"), expand=True)

    values = _expand(entries, problems)
    settings = Settings(
        environment=environment,
        values=values,
        sources={k: e.source for k, e in entries.items()},
        root=root,
        files=files,
        schema=schema,
    )
    REDACTOR.add_all(settings.secret_values())
    if validate:
        from shipwright.settings.validate import validate as check

        problems += check(settings)
    if problems:
        raise ConfigError(_report(f"environment {environment!r} is not valid", problems))
    return settings
