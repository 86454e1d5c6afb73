"""The app's variables and per-environment rules, read from ``envs/schema.yml``.

Why a file in the project, not code in the library: which variables an app has, which
are secret, where each is required, is the team's data -- an app that uses none of the
specification's variables edits this file, not the tool. Every problem in the file is
reported at once, naming the file and the variable.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from shipwright.errors import ConfigError
from shipwright.settings.var import Var, int_between

FILE = Path("envs") / "schema.yml"
KEYS = {"group", "description", "secret", "ship", "required_in", "default", "choices"}
KEYS |= {"pattern", "integer"}


@dataclass(frozen=True)
class Rule:
    """A per-environment rule from the specification's Environment-Specific Configs."""

    environment: str
    key: str
    message: str
    ok: Callable[[str | None], bool]


def load(path: Path) -> tuple[tuple[Var, ...], tuple[Rule, ...]]:
    """The variables and rules of ``path``; none when the file does not exist."""
    if not path.is_file():
        return (), ()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    problems: list[str] = []
    variables = tuple(
        v
        for name, spec in (data.get("variables") or {}).items()
        if (v := _var(name, spec, problems))
    )
    rules = tuple(r for spec in data.get("rules") or [] if (r := _rule(spec, problems)))
    if problems:
        lines = "\n".join(f"  ✘ {path}: {p}" for p in problems)
        raise ConfigError(f"the app's schema is not valid: {len(problems)} problem(s)\n{lines}")
    return variables, rules


def _var(name: str, spec: Any, problems: list[str]) -> Var | None:
    if not isinstance(spec, dict) or not {"group", "description"} <= spec.keys():
        problems.append(f"{name}: needs at least group and description")
        return None
    unknown = sorted(set(spec) - KEYS)
    if unknown:
        problems.append(f"{name}: unknown field(s) {', '.join(unknown)} (known: {sorted(KEYS)})")
        return None
    check = None
    if "integer" in spec:
        low, high = spec["integer"]
        check = int_between(int(low), int(high))
    default = spec.get("default")
    return Var(
        name,
        str(spec["group"]),
        str(spec["description"]),
        secret=bool(spec.get("secret", False)),
        ship=bool(spec.get("ship", False)),
        required_in=frozenset(spec.get("required_in") or ()),
        default=None if default is None else str(default),
        choices=tuple(str(c) for c in spec.get("choices") or ()),
        pattern=spec.get("pattern"),
        check=check,
    )


def _rule(spec: Any, problems: list[str]) -> Rule | None:
    if not isinstance(spec, dict) or not {"environment", "key", "message"} <= spec.keys():
        problems.append(f"rule {spec!r}: needs environment, key and message")
        return None
    if "equals" in spec:
        allowed = {str(v) for v in spec["equals"]}

        def ok(value: str | None) -> bool:
            return value in allowed

    elif "starts_with" in spec:
        prefix = str(spec["starts_with"])

        def ok(value: str | None) -> bool:
            return value is None or value.startswith(prefix)

    else:
        problems.append(
            f"rule for {spec['key']} in {spec['environment']}: needs equals or starts_with"
        )
        return None
    return Rule(str(spec["environment"]), str(spec["key"]), str(spec["message"]), ok)
