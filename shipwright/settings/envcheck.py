"""What env.check / env.show / env.diff print: validation, provenance, differences."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from shipwright import PROJECT_ROOT
from shipwright.errors import ConfigError
from shipwright.output import emit_json, status, table
from shipwright.settings.loader import load_settings, parse_assignments
from shipwright.settings.settings import Settings
from shipwright.settings.validate import tracked_problems


def check(environment: str, assignments: Iterable[str] | None = None) -> Settings:
    """Validate one environment and refuse env files that git tracks."""
    tracked = tracked_problems(PROJECT_ROOT)
    try:
        settings = load_settings(environment, overrides=parse_assignments(assignments or ()))
    except ConfigError as exc:
        if tracked:
            exc.args = (str(exc) + "\n" + "\n".join(f"  ✘ {p}" for p in tracked),)
        raise
    if tracked:
        raise ConfigError(
            "env files are tracked by git:\n" + "\n".join(f"  ✘ {p}" for p in tracked)
        )
    files = [str(f.relative_to(settings.root)) for f in settings.files if f.is_file()]
    status(
        True,
        f"environment {environment!r} is valid ({len(settings.values)} values from "
        f"{', '.join(files) or 'defaults only'})",
    )
    return settings


def reference(root: Path = PROJECT_ROOT, *, write: bool = False) -> str:
    """The settings reference page; ``write`` puts it at docs/settings.md."""
    from shipwright.settings import appschema
    from shipwright.settings import reference as page
    from shipwright.settings.schema import schema_for

    app, _ = appschema.load(root / appschema.FILE)
    text = page.markdown(schema_for(root), {v.name for v in app})
    if write:
        (root / page.PAGE).write_text(text, encoding="utf-8")
        status(True, f"wrote {page.PAGE}")
    return text


def show(settings: Settings, *, as_json: bool = False) -> None:
    shown = settings.redacted()
    rows = []
    for key in sorted(shown):
        var = settings.schema.get(key)
        rows.append(
            {
                "key": key,
                "value": shown[key],
                "source": str(settings.sources[key]),
                "group": var.group if var else "app",
                "secret": settings.is_secret(key),
                "shipped": key in settings.app_environment(),
            }
        )
    if as_json:
        emit_json({"environment": settings.environment, "variables": rows})
        return
    table(
        f"environment {settings.environment}",
        ["key", "value", "set by", "group", "shipped to app"],
        [
            (r["key"], r["value"], r["source"], r["group"], "yes" if r["shipped"] else "")
            for r in rows
        ],
    )


def diff(first: str, second: str, *, as_json: bool = False) -> list[dict]:
    """Keys whose values differ; secret values are compared but never shown."""
    a = load_settings(first, validate=False)
    b = load_settings(second, validate=False)
    changed = []
    for key in sorted(set(a.values) | set(b.values)):
        va, vb = a.values.get(key), b.values.get(key)
        if va == vb:
            continue
        secret = a.is_secret(key) or b.is_secret(key)
        changed.append(
            {
                "key": key,
                first: _shown(va, secret),
                second: _shown(vb, secret),
            }
        )
    if as_json:
        emit_json({"a": first, "b": second, "differences": changed})
    else:
        table(
            f"{first} vs {second}: {len(changed)} keys differ",
            ["key", first, second],
            [(row["key"], row[first], row[second]) for row in changed],
        )
    return changed


def _shown(value: str | None, secret: bool) -> str:
    if value is None:
        return "(unset)"
    return "(secret)" if secret else value
