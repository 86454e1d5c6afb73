"""One declared variable (:class:`Var`) and the checks declarations share.

Why apart from the schema: every target package declares its own settings in a
``variables`` module, and those must not import the schema that collects them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Var:
    name: str
    group: str
    description: str
    secret: bool = False
    ship: bool = False
    required_in: frozenset[str] = frozenset()
    default: str | None = None
    choices: tuple[str, ...] = ()
    pattern: str | None = None  # a regex the value must match in full
    check: Callable[[str], str | None] | None = field(default=None, compare=False)

    def problem_with(self, value: str) -> str | None:
        """Why ``value`` is not acceptable, or None. Never includes the value if secret."""
        if self.choices and value not in self.choices:
            return f"{self.name} must be one of {', '.join(self.choices)}"
        if self.pattern and not re.fullmatch(self.pattern, value):
            shown = "its value" if self.secret else repr(value)
            return f"{self.name}: {shown} does not match {self.pattern}"
        if self.check:
            return self.check(value)
        return None


def int_between(low: int, high: int) -> Callable[[str], str | None]:
    def check(value: str) -> str | None:
        if not value.isdigit() or not low <= int(value) <= high:
            return f"must be a whole number from {low} to {high}, not {value!r}"
        return None

    return check


def number(value: str) -> str | None:
    try:
        float(value)
    except ValueError:
        return f"must be a number, not {value!r}"
    return None


def secret(name, group, description, **kw) -> Var:
    return Var(name, group, description, secret=True, **kw)


PORT = int_between(1, 65535)
URL = r"https?://\S+"
