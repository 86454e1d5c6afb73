"""The smoke suite: a few real requests that prove the release does its job.

Why data, not code: the cases belong to the application team, not to this tool, so
they live in a YAML (or JSON) file beside the app -- ``smoke.yml`` at the project root
by default, ``SMOKE_FILE`` to choose another -- and every check names the request and
exactly what was wrong with the answer.

File format::

    cases:
      - name: items list              # optional; defaults to "GET /api/items"
        method: GET                   # default GET
        path: /api/items
        status: 200                   # expected status (default 200)
        contains: ['"items"']         # substrings the body must contain (str or list)
        headers: {Accept: application/json}
        json: {name: x}               # optional JSON body (POST/PUT)

``${version}`` (and any other key passed as ``variables``) is substituted in path,
contains and json strings, e.g. ``contains: '"version":"${version}"'`` proves the new
release is the one answering.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from string import Template
from typing import Any

import yaml

from shipwright import PROJECT_ROOT
from shipwright.domain import Check, Checks
from shipwright.errors import ConfigError
from shipwright.httpcall import join, request
from shipwright.settings import Settings

DEFAULT_FILE = "smoke.yml"
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
KEYS = {"name", "method", "path", "status", "contains", "headers", "json"}


@dataclass(frozen=True)
class Case:
    path: str
    method: str = "GET"
    status: int = 200
    contains: tuple[str, ...] = ()
    headers: Mapping[str, str] = field(default_factory=dict)
    json: Any = None
    name: str = ""

    @property
    def title(self) -> str:
        return self.name or f"{self.method} {self.path}"


def load_suite(path: Path | str | None = None, *, root: Path = PROJECT_ROOT) -> list[Case]:
    """Read and validate a suite file; a ConfigError names every bad case at once."""
    file = Path(path) if path else root / DEFAULT_FILE
    if not file.is_absolute():
        file = root / file
    if not file.is_file():
        raise ConfigError(f"smoke suite {file} does not exist (set SMOKE_FILE or create it)")
    text = file.read_text("utf-8")
    try:
        data = json.loads(text) if file.suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"smoke suite {file} is not valid: {exc}") from None
    return parse_suite(data, where=str(file))


def parse_suite(data: Any, *, where: str = "smoke suite") -> list[Case]:
    raw = data.get("cases") if isinstance(data, dict) else data
    if not isinstance(raw, list) or not raw:
        raise ConfigError(f"{where}: expected a non-empty list under 'cases'")
    cases, problems = [], []
    for number, item in enumerate(raw, 1):
        try:
            cases.append(_case(item))
        except (TypeError, ValueError) as exc:
            problems.append(f"  ✘ case {number}: {exc}")
    if problems:
        raise ConfigError(f"{where}: {len(problems)} invalid case(s)\n" + "\n".join(problems))
    return cases


def _case(item: Any) -> Case:
    if not isinstance(item, dict):
        raise TypeError("must be a mapping with at least 'path'")
    unknown = set(item) - KEYS
    if unknown:
        raise ValueError(f"unknown key(s) {', '.join(sorted(unknown))}")
    path = item.get("path")
    if not isinstance(path, str) or not path.startswith("/"):
        raise ValueError("'path' must be a string starting with '/'")
    method = str(item.get("method", "GET")).upper()
    if method not in METHODS:
        raise ValueError(f"'method' must be one of {', '.join(METHODS)}")
    status = item.get("status", 200)
    if not isinstance(status, int) or not 100 <= status <= 599:
        raise ValueError("'status' must be an HTTP status code (100-599)")
    contains = item.get("contains", ())
    contains = (contains,) if isinstance(contains, str) else tuple(contains or ())
    if not all(isinstance(c, str) for c in contains):
        raise ValueError("'contains' must be a string or a list of strings")
    headers = item.get("headers") or {}
    if not isinstance(headers, dict):
        raise ValueError("'headers' must be a mapping")
    return Case(
        path,
        method,
        status,
        contains,
        {str(k): str(v) for k, v in headers.items()},
        item.get("json"),
        str(item.get("name") or ""),
    )


def _fill(value: Any, variables: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        return Template(value).safe_substitute(variables)
    if isinstance(value, list):
        return [_fill(v, variables) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, variables) for k, v in value.items()}
    return value


def run_case(
    base_url: str, case: Case, *, variables: Mapping[str, str] | None = None, timeout: float = 5.0
) -> Check:
    """One request; ✘ says what differed: status, missing text, or no answer at all."""
    values = dict(variables or {})
    path = _fill(case.path, values)
    answer = request(
        case.method,
        join(base_url, path),
        json_body=_fill(case.json, values),
        headers=dict(case.headers),
        timeout=timeout,
    )
    name = f"smoke: {case.title}"
    if answer.status == 0:
        return Check(name, False, f"{case.method} {path}: no answer ({answer.describe()})")
    wrong = []
    if answer.status != case.status:
        wrong.append(f"status {answer.status}, expected {case.status}")
    missing = [text for text in _fill(list(case.contains), values) if text not in answer.body]
    if missing:
        wrong.append("body lacks " + ", ".join(repr(m) for m in missing))
    if wrong:
        body = " ".join(answer.body.split())[:160]
        return Check(name, False, f"{case.method} {path}: {'; '.join(wrong)} (body: {body})")
    return Check(name, True, f"{case.method} {path}: {answer.status} in {answer.elapsed_ms:.0f} ms")


def run_suite(
    base_url: str,
    cases: Sequence[Case],
    *,
    variables: Mapping[str, str] | None = None,
    timeout: float = 5.0,
) -> Checks:
    """Every case runs (no stopping at the first failure): the report shows them all."""
    return Checks([run_case(base_url, c, variables=variables, timeout=timeout) for c in cases])


def smoke_from_settings(
    settings: Settings, base_url: str | None = None, *, variables: Mapping[str, str] | None = None
) -> Checks:
    """The suite in SMOKE_FILE (default smoke.yml at the project root) against APP_URL."""
    cases = load_suite(settings.get("SMOKE_FILE"), root=settings.root)
    return run_suite(base_url or settings["APP_URL"], cases, variables=variables)
